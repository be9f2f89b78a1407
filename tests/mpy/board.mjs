// A virtual MicroPython board on a TCP socket: real MicroPython (the WebAssembly port) behind a serial-style line
// that mpremote and `pintu deploy` reach as socket://127.0.0.1:PORT, and `pintu serve` after them.
//
// Usage: node board.mjs [--port 0] [--control 0] [--inject HOSTFILE]...
// Prints one line "board serial=PORT control=PORT" on stdout when listening, then logs to stderr.
//
// The line (one client at a time, like a USB port):
//  * REPL mode: every byte goes to replProcessChar; MicroPython's stdout goes back. The raw-paste probe
//    (\x05A\x01) would hang the instance, so the bridge answers it "R\x00" (not supported) itself and mpremote
//    falls back to plain raw mode.
//  * Soft reset (Ctrl-D on an empty line, which the port reports as a forced exit): a fresh MicroPython instance
//    with the same files (the board's flash survives a reset). From the raw REPL it comes back in the raw REPL, as
//    a board does; from the friendly REPL it "runs main.py": tests/mpy/virtual_board.py (injected into /virtual,
//    never part of the deployed files) boots the deployed app on fake hardware and the bridge steps its loop every
//    few ms. The app's frames go out on stdout and bytes from the line go to its console stream.
//  * A reset the app asks for (the REPL escape, three Ctrl-C) reboots the same way; main.py's maintenance flag
//    then leaves the REPL attached.
//
// The control port takes one JSON command per line and answers one JSON line:
//   {"cmd": "scan", "code": "TEXT"}   a code under the virtual scanner
//   {"cmd": "outputs"}                recorded LED/buzzer/relay changes [[ms, device, value], ...]
//   {"cmd": "status"}                 {"mode": "repl"|"app", "boots": N, "app": {...}}
//   {"cmd": "files"}                  the board's files (paths), for tests
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename } from "node:path";

const args = process.argv.slice(2);
let serialPort = 0;
let controlPort = 0;
const injects = [];
for (let i = 0; i < args.length; i += 2) {
  const [flag, value] = [args[i], args[i + 1]];
  if (flag === "--port") serialPort = Number(value);
  else if (flag === "--control") controlPort = Number(value);
  else if (flag === "--inject") injects.push(value);
  else { console.error(`unknown argument ${flag}`); process.exit(2); }
}

const SYSTEM_DIRS = new Set(["/dev", "/proc", "/tmp", "/home", "/virtual"]);
const STEP_MS = 10;
const STEPS_PER_TICK = 4;

let mp = null;
let mode = "repl"; // "repl" or "app"
let raw = false; // in the raw REPL (tracked from Ctrl-A / Ctrl-B)
let mute = false;
let client = null;
let boots = 0;
let probe = []; // bytes of a possible raw-paste probe held back
let appInput = [];
let outBuf = [];
let chain = Promise.resolve(); // every action on the instance runs in order, one at a time

function log(...parts) { process.stderr.write("board: " + parts.join(" ") + "\n"); }

function emit(bytes) {
  if (mute) return;
  for (const b of bytes) outBuf.push(b);
  if (outBuf.length === bytes.length) setImmediate(flush);
}

function flush() {
  const data = Buffer.from(outBuf);
  outBuf = [];
  if (client && !client.destroyed && data.length) client.write(data);
}

function text(s) { emit(Buffer.from(s, "latin1")); }

function snapshot() {
  const files = [];
  if (!mp) return files;
  const walk = (dir) => {
    for (const name of mp.FS.readdir(dir)) {
      if (name === "." || name === "..") continue;
      const path = (dir === "/" ? "" : dir) + "/" + name;
      if (SYSTEM_DIRS.has(path)) continue;
      const st = mp.FS.stat(path);
      if (mp.FS.isDir(st.mode)) { files.push([path, null]); walk(path); }
      else files.push([path, mp.FS.readFile(path)]);
    }
  };
  walk("/");
  return files;
}

async function fresh(files) {
  mp = await loadMicroPython({ heapsize: 4 * 1024 * 1024, linebuffer: false, stdout: emit, stderr: emit });
  for (const [path, data] of files) {
    if (data === null) { try { mp.FS.mkdir(path); } catch { /* exists */ } }
    else mp.FS.writeFile(path, data);
  }
  try { mp.FS.mkdir("/virtual"); } catch { /* exists */ }
  for (const host of injects) mp.FS.writeFile("/virtual/" + basename(host), readFileSync(host));
  boots += 1;
}

function startRepl(rawMode, banner) {
  mute = !banner;
  mp.replInit();
  if (rawMode) mp.replProcessChar(1);
  mute = false;
  if (rawMode) text("raw REPL; CTRL-B to exit\r\n>");
  mode = "repl";
  raw = rawMode;
}

function runPy(code) {
  mp.runPython(code);
}

function evalPy(expr) { // runPython gives back nothing: the value goes through a global
  mp.runPython(`_bridge_r = ${expr}`);
  return mp.globals.get("_bridge_r");
}

// kind: "raw" (Ctrl-D in the raw REPL), "soft" (Ctrl-D in the friendly REPL), "hard" (power on, app reset)
async function reboot(kind) {
  const files = snapshot();
  appInput = [];
  probe = [];
  await fresh(files);
  if (kind !== "hard") text("MPY: soft reboot\r\n");
  if (kind === "raw") { startRepl(true, false); return; }
  let started = false;
  if (files.some(([path]) => path === "/main.py")) {
    try {
      runPy("import sys\nsys.path.insert(0, '/virtual')\nimport virtual_board\n_vb = virtual_board.VirtualBoard()");
      started = evalPy("_vb.boot()");
    } catch (err) {
      text(String(err && err.message ? err.message : err).replace(/\n/g, "\r\n") + "\r\n");
      started = false;
    }
  }
  if (started) { mode = "app"; raw = false; log("app running (boot " + boots + ")"); }
  else startRepl(false, true);
}

function replByte(c) {
  // The raw-paste probe \x05 A \x01: answered here, never passed on.
  if (raw && (probe.length > 0 || c === 0x05)) {
    probe.push(c);
    const want = [0x05, 0x41, 0x01];
    if (probe.every((b, i) => b === want[i])) {
      if (probe.length < 3) return null;
      probe = [];
      text("R\x00");
      return null;
    }
    const held = probe;
    probe = [];
    let result = null;
    for (const b of held) result = processChar(b) || result;
    return result;
  }
  return processChar(c);
}

function processChar(c) {
  if (c === 0x01) raw = true;
  else if (c === 0x02) raw = false;
  const wasRaw = raw;
  const r = mp.replProcessChar(c);
  return r ? (wasRaw ? "raw" : "soft") : null;
}

async function onData(data) {
  for (let i = 0; i < data.length; i++) {
    if (mode === "app") { appInput.push(...data.subarray(i)); return; }
    const reset = replByte(data[i]);
    if (reset) await reboot(reset);
  }
}

async function tick() {
  if (mode !== "app") return;
  try {
    if (appInput.length) {
      const hex = Buffer.from(appInput).toString("hex");
      appInput = [];
      runPy(`_vb.feed(bytes.fromhex('${hex}'))`);
    }
    if (evalPy(`_vb.step(${STEPS_PER_TICK})`)) await reboot("hard");
  } catch (err) {
    log("app stopped:", err && err.message ? err.message : err);
    startRepl(false, true);
  }
}

function control(line) {
  let cmd;
  try { cmd = JSON.parse(line); } catch { return { error: "not JSON" }; }
  if (cmd.cmd === "status") {
    const app = mode === "app" ? JSON.parse(evalPy("_vb.status()")) : null;
    return { mode, raw, boots, app };
  }
  if (cmd.cmd === "files") return { files: snapshot().filter(([, d]) => d !== null).map(([p]) => p) };
  if (mode !== "app") return { error: "the app is not running" };
  if (cmd.cmd === "scan") {
    runPy(`_vb.scan(bytes.fromhex('${Buffer.from(cmd.code, "utf8").toString("hex")}'))`);
    return { ok: true };
  }
  if (cmd.cmd === "outputs") return { outputs: JSON.parse(evalPy("_vb.outputs()")) };
  return { error: "unknown command" };
}

await fresh([]);
startRepl(false, false);

const line = createServer((sock) => {
  if (client && !client.destroyed) { sock.destroy(); return; } // one USB host at a time
  client = sock;
  sock.setNoDelay(true);
  sock.on("data", (data) => { chain = chain.then(() => onData(data)).catch((e) => log("error:", e)); });
  sock.on("close", () => { if (client === sock) client = null; });
  sock.on("error", () => {});
});

const ctl = createServer((sock) => {
  let buf = "";
  sock.on("data", (data) => {
    buf += data.toString("utf8");
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const one = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      chain = chain.then(() => {
        let answer;
        try { answer = control(one); } catch (err) { answer = { error: String(err && err.message ? err.message : err) }; }
        sock.write(JSON.stringify(answer) + "\n");
      });
    }
  });
  sock.on("error", () => {});
});

setInterval(() => { chain = chain.then(tick); }, STEP_MS);
line.listen(serialPort, "127.0.0.1", () => {
  ctl.listen(controlPort, "127.0.0.1", () => {
    process.stdout.write(`board serial=${line.address().port} control=${ctl.address().port}\n`);
  });
});
process.on("SIGTERM", () => process.exit(0));
