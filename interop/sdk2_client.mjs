// The official TypeScript SDK v2 client (@modelcontextprotocol/client)
// drives agw-proxy over stdio in one protocol revision: it lists the tools
// and checks that the injected argument is hidden from every schema, calls
// the Asana tool and checks the call succeeded, that the target's echo shows
// the injected value (masked) rather than the model's, and, in 2026-07-28,
// that the raw result says resultType "complete". In 2026-07-28 a second,
// raw pass speaks the revision by hand (server/discover, then requests with
// the _meta envelope and no initialize) and keeps every stdout line.
//
// It prints every message it received, one a line ("recv <json>", "raw
// <line>", "discover <json>"), so that interop_test.go can run them through
// internal/leakcheck, then one "ok: ..." line per check passed.
//
// Run by sdk2_test.go. Input from the environment:
//   AGW_BIN          the server binary
//   AGW_ARGS         JSON array of its arguments ("serve", ...)
//   AGW_TOOL         the tool to call
//   AGW_HIDDEN       the argument that must not appear (X-Asana-Token)
//   AGW_PROTOCOL     2026-07-28 (pinned: no fallback), 2025-11-25 (pinned
//                    initialize), or auto (server/discover first, falling
//                    back to initialize)
//   AGW_WANT_VERSION the revision the connection must end up with
//   AGW_WANT_SERVER  serverInfo.name the server must report
//   AGW_WANT_ECHO    the x_asana_token the target's echo must show
//   AGW_PASS         sdk or raw to run one pass only (the script's own tests)
//   AGW_PROXY_CLIENT_SECRET, AGW_PROXY_SECRET_*   passed on to the server
// Exit status 0 when every check passes. Never prints a secret it knows.

import { spawn } from "node:child_process";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const MODERN = "2026-07-28";
const PV = "io.modelcontextprotocol/protocolVersion";
const CAPS = "io.modelcontextprotocol/clientCapabilities";
const INFO = "io.modelcontextprotocol/clientInfo";

const bin = process.env.AGW_BIN;
const args = JSON.parse(process.env.AGW_ARGS ?? "[]");
const toolName = process.env.AGW_TOOL;
const hidden = process.env.AGW_HIDDEN ?? "X-Asana-Token";
const protocol = process.env.AGW_PROTOCOL ?? MODERN;
const wantVersion = process.env.AGW_WANT_VERSION ?? (protocol === "auto" ? MODERN : protocol);
const wantServer = process.env.AGW_WANT_SERVER;
const wantEcho = process.env.AGW_WANT_ECHO;
const callArgs = {
  tool_name: "list_projects",
  workspace: "1200000000000000",
  // A model-made value: agw-proxy must replace it with the stored secret.
  [hidden]: "Bearer model-made-this-up",
};

const secrets = Object.entries(process.env)
  .filter(([k, v]) => v && (k === "AGW_PROXY_CLIENT_SECRET" || k.startsWith("AGW_PROXY_SECRET_")))
  .map(([, v]) => v);

function redact(s) {
  for (const v of secrets) s = s.split(v).join("[secret]");
  return s;
}

function fail(msg) {
  console.log("FAIL: " + redact(msg));
  process.exit(1);
}

// print writes one line for the Go test to check with leakcheck. A secret
// in plain text never leaves this process (redact): the script fails at the
// end instead (checkPrinted). Disguised forms are for leakcheck to find.
const leakedIn = new Set();
function print(prefix, text) {
  const safe = redact(text);
  if (safe !== text) leakedIn.add(prefix);
  console.log(prefix + " " + safe);
}

function checkPrinted() {
  if (leakedIn.size > 0) fail(`secret leaked: in ${[...leakedIn].join(", ")} (lines redacted)`);
}

function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function checkSchemas(tools, via) {
  const tool = tools.find((t) => t.name === toolName);
  if (!tool) fail(`${via} tools/list has no ${toolName} (got ${tools.length} tools)`);
  for (const t of tools) {
    const schema = t.inputSchema ?? {};
    if (Object.hasOwn(schema.properties ?? {}, hidden)) fail(`${via} ${t.name}: inputSchema.properties still has ${hidden}`);
    if ((schema.required ?? []).includes(hidden)) fail(`${via} ${t.name}: inputSchema.required still has ${hidden}`);
    if (JSON.stringify(t).includes(hidden)) fail(`${via} ${t.name}: ${hidden} still appears in the tool definition`);
  }
}

// checkCallResult checks a tools/call result as it came off the wire.
function checkCallResult(result, via) {
  const text = (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("");
  if (result.isError) fail(`${via} tools/call ${toolName} returned isError (${text.length} bytes of text)`);
  if (!text) fail(`${via} tools/call ${toolName} returned no text`);
  if (wantEcho !== undefined) {
    let echo;
    try {
      echo = JSON.parse(text);
    } catch {
      fail(`${via} tools/call ${toolName}: the target's answer is not JSON`);
    }
    if (echo?.x_asana_token !== wantEcho) {
      fail(`${via} tools/call ${toolName}: the target's echo shows ${hidden} as ${JSON.stringify(echo?.x_asana_token)}, want ${JSON.stringify(wantEcho)}`);
    }
    if (JSON.stringify(echo.received ?? {}).includes(hidden)) fail(`${via} tools/call: ${hidden} travelled in the body`);
  }
  if (wantVersion === MODERN && result.resultType !== "complete") {
    fail(`${via} tools/call ${toolName}: resultType is ${JSON.stringify(result.resultType)}, want "complete"`);
  }
  return text;
}

// describe names an SDK error with its JSON-RPC code and data (the
// versions a -32022 lists), not its message alone.
function describe(err) {
  let s = err?.message ?? String(err);
  if (err?.code !== undefined) s += ` (code ${err.code})`;
  if (err?.data !== undefined) s += ` data ${JSON.stringify(err.data)}`;
  return s;
}

function clientOptions() {
  switch (protocol) {
    case MODERN:
      return { versionNegotiation: { mode: { pin: MODERN } } };
    case "auto":
      return { versionNegotiation: { mode: "auto" } };
    default:
      // The default mode is "legacy" (initialize); offering only this
      // revision makes the client refuse any other in the answer.
      return { supportedProtocolVersions: [protocol] };
  }
}

async function viaSDK() {
  if (!bin || !toolName) fail("AGW_BIN and AGW_TOOL must be set");
  const transport = new StdioClientTransport({
    command: bin,
    args,
    env: { ...process.env }, // the SDK passes only a safe subset by default
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d) => (stderr += d));

  // Keep every message the session's transport delivers and sends, without
  // replacing the SDK's own transport class (in its negotiated modes the SDK
  // probes on a sibling process only for the base StdioClientTransport).
  // The SDK wraps onmessage once more when it connects: record each message
  // once.
  const received = [];
  const sent = [];
  const seen = new WeakSet();
  let handler;
  Object.defineProperty(transport, "onmessage", {
    configurable: true,
    get: () => (handler === undefined ? undefined : (msg, extra) => {
      if (msg && typeof msg === "object" && !seen.has(msg)) {
        seen.add(msg);
        received.push(msg);
        print("recv", JSON.stringify(msg));
      }
      return handler(msg, extra);
    }),
    set: (h) => (handler = h),
  });
  const send = transport.send.bind(transport);
  transport.send = (msg, opts) => {
    sent.push(msg);
    print("send", JSON.stringify(msg));
    return send(msg, opts);
  };

  const client = new Client({ name: "agw-proxy-interop-v2", version: "1.0.0" }, clientOptions());
  const transportErrors = [];
  client.onerror = (err) => transportErrors.push(err);

  try {
    await within(15_000, "connect", client.connect(transport));
    const version = client.getNegotiatedProtocolVersion();
    const era = client.getProtocolEra();
    const discover = client.getDiscoverResult();
    if (discover !== undefined) print("discover", JSON.stringify(discover));
    console.log(`sdk: negotiated ${version} (era ${era})`);
    if (version !== wantVersion) fail(`negotiated protocol version ${version}, want ${wantVersion}`);
    if (wantServer !== undefined && client.getServerVersion()?.name !== wantServer) {
      fail(`serverInfo.name = ${JSON.stringify(client.getServerVersion()?.name)}, want ${JSON.stringify(wantServer)}`);
    }

    const { tools } = await within(20_000, "tools/list", client.listTools());
    checkSchemas(tools, "sdk");
    console.log(`ok: sdk tools/list: ${tools.length} tools, ${hidden} hidden`);

    const result = await within(20_000, "tools/call", client.callTool({ name: toolName, arguments: callArgs }));
    console.log(`sdk: callTool's result ${Object.hasOwn(result, "resultType") ? "has" : "has no"} resultType`);
    // resultType is checked on the raw message: the SDK's result may drop it.
    const callId = sent.find((m) => m.method === "tools/call")?.id;
    const raw = received.find((m) => m.id === callId && ("result" in m || "error" in m));
    if (!raw) fail("sdk: no raw answer to tools/call recorded");
    if (raw.error) fail(`sdk: tools/call answered with error ${raw.error.code}`);
    const text = checkCallResult(raw.result, "sdk");
    if (wantVersion === MODERN) console.log(`ok: sdk tools/call resultType "complete"`);
    console.log(`ok: sdk tools/call ${toolName}: success, ${text.length} bytes`);
  } catch (err) {
    fail(`sdk client: ${describe(err)}\n--- server stderr ---\n${stderr}`);
  } finally {
    await client.close().catch(() => {});
  }

  // What the SDK put on the wire is the revision asked for.
  const requests = sent.filter((m) => typeof m.method === "string" && "id" in m);
  if (wantVersion === MODERN) {
    if (sent.some((m) => m.method === "initialize" || m.method === "notifications/initialized")) {
      fail("sdk: a 2026-07-28 client sent initialize");
    }
    for (const m of requests) {
      if (m.params?._meta?.[PV] !== MODERN) fail(`sdk: ${m.method} went out without _meta ${PV} = ${MODERN}`);
    }
  } else {
    const init = sent.find((m) => m.method === "initialize");
    if (init?.params?.protocolVersion !== wantVersion) {
      fail(`sdk: initialize offered ${init?.params?.protocolVersion}, want ${wantVersion}`);
    }
    if (requests.some((m) => m.params?._meta?.[PV] !== undefined)) fail(`sdk: a ${wantVersion} client sent ${PV}`);
  }
  console.log(`ok: sdk spoke ${wantVersion}: ${requests.map((m) => m.method).join(", ")}`);
  if (transportErrors.length > 0) {
    fail(`sdk reported ${transportErrors.length} transport error(s): ${transportErrors[0]?.message ?? transportErrors[0]}`);
  }
  print("stderr", JSON.stringify(stderr));
  checkPrinted();
}

// viaRaw2026 speaks 2026-07-28 by hand and keeps every byte on stdout.
async function viaRaw2026() {
  const child = spawn(bin, args, { env: process.env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  // Requests may be answered in any order: wait for all three answers
  // before EOF, which ends the server.
  let gotAll;
  const allAnswered = new Promise((resolve) => (gotAll = resolve));
  const answered = new Set();
  let scanned = 0;
  child.stdout.on("data", (d) => {
    out += d;
    let nl;
    while ((nl = out.indexOf("\n", scanned)) !== -1) {
      try {
        const msg = JSON.parse(out.slice(scanned, nl));
        if ("result" in msg || "error" in msg) answered.add(msg.id);
      } catch {} // judged below, with the whole output
      scanned = nl + 1;
    }
    if ([1, 2, 3].every((id) => answered.has(id))) gotAll();
  });
  const _meta = { [PV]: MODERN, [CAPS]: {}, [INFO]: { name: "raw-2026", version: "0" } };
  const send = (msg) => child.stdin.write(JSON.stringify(msg) + "\n");
  send({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta } });
  send({ jsonrpc: "2.0", id: 2, method: "tools/list", params: { _meta } });
  send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: toolName, arguments: callArgs, _meta } });
  try {
    await within(20_000, "raw answers to ids 1-3", allAnswered);
  } catch (e) {
    child.kill();
    fail(`raw: ${e.message}\n--- server stderr ---\n${err}`);
  }
  child.stdin.end();
  const { code, signal } = await within(10_000, "server exit after EOF", exited).catch((e) => {
    child.kill();
    fail(`raw: ${e.message}`);
  });
  for (const line of out.split("\n")) if (line !== "") print("raw", line);
  if (code !== 0) fail(`raw: server exited with ${code ?? signal} after EOF\n--- server stderr ---\n${err}`);
  if (out !== "" && !out.endsWith("\n")) fail("raw: stdout does not end with a newline");

  const byId = new Map();
  out.split("\n").slice(0, -1).forEach((line, i) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      fail(`raw: stray output on stdout: line ${i + 1} is not JSON`);
    }
    if (msg?.jsonrpc !== "2.0" || typeof msg !== "object" || Array.isArray(msg)) {
      fail(`raw: stray output on stdout: line ${i + 1} is not a JSON-RPC message`);
    }
    if ("id" in msg && ("result" in msg || "error" in msg)) {
      if (byId.has(msg.id)) fail(`raw: two answers for id ${msg.id}`);
      byId.set(msg.id, msg);
    }
  });
  for (const [id, what] of [[1, "server/discover"], [2, "tools/list"], [3, "tools/call"]]) {
    const m = byId.get(id);
    if (!m) fail(`raw: no answer to ${what}`);
    if (m.error) fail(`raw: ${what} answered with error ${m.error.code}: ${m.error.message}`);
  }
  const discover = byId.get(1).result;
  if (!(discover.supportedVersions ?? []).includes(MODERN)) {
    fail(`raw: server/discover offers ${JSON.stringify(discover.supportedVersions)}, not ${MODERN}`);
  }
  checkSchemas(byId.get(2).result.tools ?? [], "raw");
  checkCallResult(byId.get(3).result, "raw");
  print("stderr", JSON.stringify(err));
  checkPrinted();
  console.log(`ok: raw 2026-07-28: ${byId.size} answers, all JSON-RPC, tools/call resultType "complete"; clean exit on EOF`);
}

const pass = process.env.AGW_PASS ?? "";
if (pass !== "raw") await viaSDK();
if (pass !== "sdk" && wantVersion === MODERN) await viaRaw2026();
