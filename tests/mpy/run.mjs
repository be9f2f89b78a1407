// Runs Python code under the real MicroPython WebAssembly port.
// Usage: node run.mjs [--mount HOSTDIR:MPDIR]... [--path MPDIR]... (--exec CODE | --file HOSTFILE)...
// Mounted folders are copied into MicroPython's in-memory filesystem; --path entries go on sys.path.
// Each --exec / --file is its own runPython() call on the same interpreter: this port's gc.collect() frees nothing
// while a call is active (its stack is not scannable then), so heap figures need separate steps.
// Exit status: 0 when the code ran to the end, 1 when it raised (the traceback is on stderr).
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
  else if (flag === "--exec") steps.push(value);
  else if (flag === "--file") steps.push(readFileSync(value, "utf8"));
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
