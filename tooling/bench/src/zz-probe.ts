import { startSystems } from "./systems.js";
import { chatBody } from "./request-bodies.js";
const s = await startSystems({ tokenDelayMs: 5, portkey: false, profileDir: process.env.PROF });
await new Promise((r) => setTimeout(r, 3000));
for (const sys of ["direct", "floor", "pocket"] as const) {
  const t = s.of(sys)!.target;
  const times: number[] = [];
  for (let i = 0; i < (sys === "pocket" ? 400 : 60); i++) {
    const t0 = performance.now();
    const res = await fetch(`${t.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...t.headers }, body: chatBody(sys, { stream: false } as never) });
    await res.text();
    if (i === 0 && !res.ok) console.log(sys, res.status);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(sys, "p50", times[times.length>>1]!.toFixed(2), "p10", times[6]!.toFixed(2), "p90", times[54]!.toFixed(2));
}
await s.stop();
process.exit(0);
