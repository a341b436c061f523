import { type Html, html } from "../html.js";

let snippetSeq = 0;

/** A code block with a copy button (the button works with the portal's script; the text is selectable without). */
export function snippet(code: string, label: string): Html {
  snippetSeq = (snippetSeq + 1) % 1_000_000;
  const id = `snippet-${snippetSeq}`;
  return html`<div class="snippet"><button type="button" class="secondary small copy" data-copy="${id}" aria-label="Copy ${label}">Copy</button><pre id="${id}"><code>${code}</code></pre></div>`;
}

/**
 * Copy-paste quick starts for the official openai SDK (Node, Python) and curl: with the key
 * itself right after it was created, else reading `OPENAI_API_KEY` from the environment.
 */
export function quickStart(baseUrl: string, apiKey: string | undefined, model: string): Html {
  const node = `import OpenAI from "openai";

const client = new OpenAI({
  baseURL: "${baseUrl}",
  apiKey: ${apiKey === undefined ? "process.env.OPENAI_API_KEY" : `"${apiKey}"`},
});
const answer = await client.chat.completions.create({
  model: "${model}",
  messages: [{ role: "user", content: "What is the capital of France?" }],
  max_tokens: 50,
});
console.log(answer.choices[0].message.content);`;
  const python = `${apiKey === undefined ? "import os\n" : ""}from openai import OpenAI

client = OpenAI(base_url="${baseUrl}", api_key=${apiKey === undefined ? `os.environ["OPENAI_API_KEY"]` : `"${apiKey}"`})
answer = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "What is the capital of France?"}],
    max_tokens=50,
)
print(answer.choices[0].message.content)`;
  const curl = `curl ${baseUrl}/chat/completions \\
  -H "Authorization: Bearer ${apiKey ?? "$OPENAI_API_KEY"}" \\
  -H "Content-Type: application/json" \\
  -d '{"model":"${model}","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":50}'`;
  return html`<div class="quick-start">
<div><h3>Node (openai SDK)</h3>${snippet(node, "Node example")}</div>
<div><h3>Python (openai SDK)</h3>${snippet(python, "Python example")}</div>
<div><h3>curl</h3>${snippet(curl, "curl example")}</div></div>`;
}
