// An independent MCP client, the official TypeScript SDK, drives agw-proxy
// over stdio: it lists the tools, checks that the injected argument is
// hidden, calls the tool and checks the call succeeds. A second, raw pass
// spawns the binary itself and checks that every line on its stdout is a
// JSON-RPC message (MCP only: no logs, no stray output).
//
// Run by interop_test.go. Input from the environment:
//   AGW_BIN       the agw-proxy binary
//   AGW_ARGS      JSON array of its arguments ("serve", ...)
//   AGW_TOOL      the tool to call
//   AGW_HIDDEN    the argument that must not appear (X-Asana-Token)
//   AGW_PROXY_CLIENT_SECRET, AGW_PROXY_SECRET_*   passed on to agw-proxy
// Exit status 0 when every check passes. Never prints a secret.

import { spawn } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const bin = process.env.AGW_BIN;
const args = JSON.parse(process.env.AGW_ARGS ?? "[]");
const toolName = process.env.AGW_TOOL;
const hidden = process.env.AGW_HIDDEN ?? "X-Asana-Token";
const callArgs = {
  tool_name: "list_projects",
  workspace: "1200000000000000",
  // A model-made value: agw-proxy must replace it with the stored secret.
  [hidden]: "Bearer model-made-this-up",
};

// Values that must never reach stdout (or this script's output).
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

function leaks(text) {
  return secrets.some((v) => text.includes(v));
}

// Guard every wait: a hung proxy must fail the test, not stall CI.
function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function checkSchema(tool) {
  const schema = tool.inputSchema ?? {};
  if (Object.hasOwn(schema.properties ?? {}, hidden)) fail(`${tool.name}: inputSchema.properties still has ${hidden}`);
  if ((schema.required ?? []).includes(hidden)) fail(`${tool.name}: inputSchema.required still has ${hidden}`);
  if (JSON.stringify(tool).includes(hidden)) fail(`${tool.name}: ${hidden} still appears in the tool definition`);
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
  const client = new Client({ name: "agw-proxy-interop", version: "1.0.0" });
  // The SDK reports every stdout line that is not a JSON-RPC message here.
  const transportErrors = [];
  client.onerror = (err) => transportErrors.push(err);

  try {
    await within(10_000, "initialize", client.connect(transport));
    const server = client.getServerVersion();
    if (server?.name !== "agw-proxy") fail(`serverInfo.name = ${JSON.stringify(server?.name)}, want "agw-proxy"`);

    const { tools } = await within(20_000, "tools/list", client.listTools());
    const tool = tools.find((t) => t.name === toolName);
    if (!tool) fail(`tools/list has no ${toolName} (got ${tools.length} tools)`);
    for (const t of tools) checkSchema(t);
    console.log(`ok: sdk tools/list: ${tools.length} tools, ${hidden} hidden`);

    const result = await within(20_000, "tools/call", client.callTool({ name: toolName, arguments: callArgs }));
    const text = (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("");
    if (result.isError) fail(`tools/call ${toolName} returned isError (${text.length} bytes of text)`);
    if (!text) fail(`tools/call ${toolName} returned no text`);
    if (leaks(JSON.stringify(result))) fail("secret leaked in the tools/call result");
    console.log(`ok: sdk tools/call ${toolName}: success, ${text.length} bytes`);
  } catch (err) {
    fail(`sdk client: ${err?.message ?? err}\n--- agw-proxy stderr ---\n${stderr}`);
  } finally {
    await client.close().catch(() => {});
  }
  if (transportErrors.length > 0) {
    fail(`stray output on stdout: the SDK rejected ${transportErrors.length} line(s): ${transportErrors[0]?.message ?? transportErrors[0]}`);
  }
  if (leaks(stderr)) fail("secret leaked in agw-proxy's stderr");
  console.log("ok: sdk saw only JSON-RPC on stdout");
}

// viaRaw speaks MCP by hand and keeps every byte agw-proxy writes to stdout.
async function viaRaw() {
  const child = spawn(bin, args, { env: process.env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  let gotCall;
  const callAnswered = new Promise((resolve) => (gotCall = resolve));
  child.stdout.on("data", (d) => {
    out += d;
    if (/"id":3[,}]/.test(out)) gotCall();
  });
  const send = (msg) => child.stdin.write(JSON.stringify(msg) + "\n");
  send({
    jsonrpc: "2.0", id: 1, method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
  });
  send({ jsonrpc: "2.0", method: "notifications/initialized" });
  send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
  send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: toolName, arguments: callArgs } });
  try {
    await within(20_000, "raw tools/call answer", callAnswered);
  } catch (e) {
    child.kill();
    fail(`raw: ${e.message}\n--- agw-proxy stderr ---\n${err}`);
  }
  child.stdin.end(); // EOF: agw-proxy must exit on its own
  const { code, signal } = await within(10_000, "agw-proxy exit after EOF", exited).catch((e) => {
    child.kill();
    fail(`raw: ${e.message}`);
  });
  if (code !== 0) fail(`raw: agw-proxy exited with ${code ?? signal} after EOF\n--- agw-proxy stderr ---\n${err}`);
  if (leaks(out)) fail("secret leaked on stdout");
  if (leaks(err)) fail("secret leaked in agw-proxy's stderr");

  if (out !== "" && !out.endsWith("\n")) fail("raw: stdout does not end with a newline");
  const ids = new Set();
  out.split("\n").slice(0, -1).forEach((line, i) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      fail(`stray output on stdout: line ${i + 1} is not JSON: ${JSON.stringify(line.slice(0, 60))}`);
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      fail(`stray output on stdout: line ${i + 1} is not a JSON-RPC message`);
    }
    const isResponse = "id" in msg && ("result" in msg || "error" in msg);
    const isRequestOrNotification = typeof msg.method === "string" && !("result" in msg || "error" in msg);
    if (msg.jsonrpc !== "2.0" || !(isResponse || isRequestOrNotification)) {
      fail(`stray output on stdout: line ${i + 1} is not a JSON-RPC message`);
    }
    if (isResponse) {
      if (ids.has(msg.id)) fail(`raw: two answers for id ${msg.id}`);
      ids.add(msg.id);
      if ("error" in msg) fail(`raw: id ${msg.id} answered with error ${msg.error?.code}`);
    }
  });
  for (const id of [1, 2, 3]) if (!ids.has(id)) fail(`raw: no answer for id ${id}`);
  const lines = out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const list = lines.find((m) => m.id === 2).result;
  for (const t of list.tools) checkSchema(t);
  if (lines.find((m) => m.id === 3).result.isError) fail("raw: tools/call returned isError");
  console.log(`ok: raw stdout: ${lines.length} lines, all JSON-RPC; clean exit on EOF`);
}

await viaSDK();
await viaRaw();
