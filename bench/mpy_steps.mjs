// Runs Python code under the real MicroPython WebAssembly port as several separate runPython() calls sharing one
// interpreter. Needed for heap figures: this port's gc.collect() frees nothing while a runPython() call is active
// (its stack is not scannable then), so garbage is only reclaimed once control has returned to JavaScript.
// Usage: node mpy_steps.mjs [--mount HOSTDIR:MPDIR]... [--path MPDIR]... --step CODE [--step CODE]...
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const mounts = [];
const paths = [];
const steps = [];
for (let i = 0; i < args.length; i += 2) {
  const [flag, value] = [args[i], args[i + 1]];
  if (flag === "--mount") mounts.push(value.split(":"));
  else if (flag === "--path") paths.push(value);
  else if (flag === "--step") steps.push(value);
  else { console.error(`unknown argument ${flag}`); process.exit(2); }
}
const mp = await loadMicroPython({
  heapsize: 8 * 1024 * 1024,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
  linebuffer: true,
});
function mkdirs(path) {
  let sofar = "";
  for (const part of path.split("/").filter(Boolean)) {
    sofar += "/" + part;
    try { mp.FS.mkdir(sofar); } catch { /* exists */ }
  }
}
function copyTree(src, dst) {
  mkdirs(dst);
  for (const name of readdirSync(src)) {
    if (name === "__pycache__" || name.startsWith(".")) continue;
    const from = join(src, name);
    if (statSync(from).isDirectory()) copyTree(from, dst + "/" + name);
    else mp.FS.writeFile(dst + "/" + name, readFileSync(from));
  }
}
for (const [src, dst] of mounts) copyTree(src, dst);
try {
  mp.runPython("import sys\n" + paths.map((p) => `sys.path.insert(0, ${JSON.stringify(p)})\n`).join(""));
  for (const step of steps) mp.runPython(step);
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exit(1);
}
