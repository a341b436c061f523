/**
 * One hop of the floor: the least a signed two-hop relay can cost on this machine. Two of these
 * processes make the chain client → A → B → mock, over keep-alive `node:http`, with the four
 * secp256k1 operations of a relay done through libsecp256k1's native binding and SHA-256 through
 * `node:crypto`: A signs the request body, B verifies it, B signs the answer, A verifies it. On a
 * stream, B hashes each SSE event into a chain and signs the chain head, and A checks the chain
 * and verifies the signature, per event, as a Pocket AI node and gateway do per chunk. Nothing
 * else: no metering, no budgets, no schemas, no ledger. Run as a child (`--role a|b`).
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { onStopMessage, reportFailure, reportReady } from "./child-ipc.js";

interface Native {
  publicKeyCreate(key: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(digest: Uint8Array, key: Uint8Array): { signature: Uint8Array };
  ecdsaVerify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
}
const secp = createRequire(import.meta.url)("secp256k1/bindings") as Native;

const { values } = parseArgs({ options: { role: { type: "string" }, upstream: { type: "string" } } });
const role = values.role === "a" ? "a" : "b";
const upstream = new URL(values.upstream ?? "http://127.0.0.1:1");
const sha256 = (...parts: (Buffer | string)[]) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const keyOf = (name: string) => sha256(`pocket-ai bench floor ${name}`);
const ownKey = keyOf(role);
// The peer's uncompressed point, computed once (a real hop would cache it the same way).
const peerPoint = secp.publicKeyCreate(keyOf(role === "a" ? "b" : "a"), false);
const sign = (digest: Buffer) => Buffer.from(secp.ecdsaSign(digest, ownKey).signature).toString("hex");
const verifies = (digest: Buffer, signatureHex: string) => {
  try {
    return secp.ecdsaVerify(Buffer.from(signatureHex, "hex"), digest, peerPoint);
  } catch {
    return false;
  }
};
const agent = new http.Agent({ keepAlive: true, maxSockets: 8_192, maxFreeSockets: 1_024 });

function readBody(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on("data", (c: Buffer) => parts.push(c));
    stream.on("end", () => resolve(Buffer.concat(parts)));
    stream.on("error", reject);
  });
}

function forward(path: string, body: Buffer, headers: http.OutgoingHttpHeaders) {
  return new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(
      { host: upstream.hostname, port: upstream.port, path, method: "POST", agent, headers },
      resolve,
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Calls `onEvent` with each complete SSE event (without its blank line) as it arrives. */
function eachEvent(stream: http.IncomingMessage, onEvent: (event: string) => void, onEnd: () => void) {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let end = pending.indexOf("\n\n");
    while (end !== -1) {
      onEvent(pending.slice(0, end));
      pending = pending.slice(end + 2);
      end = pending.indexOf("\n\n");
    }
  });
  stream.on("end", onEnd);
}

const SIG = 128;
const CHAIN = 64;

async function hopA(req: http.IncomingMessage, res: http.ServerResponse) {
  const body = await readBody(req);
  const requestDigest = sha256(body);
  const answer = await forward(req.url ?? "/", body, {
    "content-type": "application/json",
    "content-length": body.length,
    "x-floor-signature": sign(requestDigest),
  });
  if (answer.headers["content-type"]?.startsWith("text/event-stream")) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    let chain = requestDigest;
    eachEvent(
      answer,
      (event) => {
        const signature = event.slice(0, SIG);
        const payload = event.slice(SIG + CHAIN);
        chain = sha256(chain, payload);
        if (chain.toString("hex") !== event.slice(SIG, SIG + CHAIN) || !verifies(chain, signature)) {
          res.destroy();
          return;
        }
        res.write(`${payload}\n\n`);
      },
      () => res.end(),
    );
    return;
  }
  const answerBody = await readBody(answer);
  const signature = answer.headers["x-floor-signature"];
  if (typeof signature !== "string" || !verifies(sha256(answerBody), signature)) {
    res.writeHead(502).end();
    return;
  }
  res.writeHead(answer.statusCode ?? 502, {
    "content-type": "application/json",
    "content-length": answerBody.length,
  });
  res.end(answerBody);
}

async function hopB(req: http.IncomingMessage, res: http.ServerResponse) {
  const body = await readBody(req);
  const requestDigest = sha256(body);
  const signature = req.headers["x-floor-signature"];
  if (typeof signature !== "string" || !verifies(requestDigest, signature)) {
    res.writeHead(401).end();
    return;
  }
  const answer = await forward(req.url ?? "/", body, {
    "content-type": "application/json",
    "content-length": body.length,
  });
  if (answer.headers["content-type"]?.startsWith("text/event-stream")) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    let chain = requestDigest;
    eachEvent(
      answer,
      (event) => {
        chain = sha256(chain, event);
        res.write(`${sign(chain)}${chain.toString("hex")}${event}\n\n`);
      },
      () => res.end(),
    );
    return;
  }
  const answerBody = await readBody(answer);
  res.writeHead(answer.statusCode ?? 502, {
    "content-type": "application/json",
    "content-length": answerBody.length,
    "x-floor-signature": sign(sha256(answerBody)),
  });
  res.end(answerBody);
}

const server = http.createServer((req, res) => {
  (role === "a" ? hopA : hopB)(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  reportReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
server.on("error", reportFailure);
onStopMessage(async () => {
  server.closeAllConnections();
  agent.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
