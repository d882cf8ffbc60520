// tests/interop/openai_client.mjs — the official OpenAI Node.js SDK (openai 6.9.1) as a user's
// application pointed at `openpcc proxy`: the only change is its base URL (DESIGN §2.1, issue 9).
//
// Reads one JSON document on stdin: { "base_url", "model", "prompt", "max_tokens" }.
// Writes { "whole": { content, finish_reason, completion_tokens },
//          "stream": { chunks, content, finish_reason },
//          "models": [ids...] }.
// Any SDK error (HTTP status, a broken stream) makes the script exit non-zero with the message.
import OpenAI from "openai";

let text = "";
for await (const piece of process.stdin) text += piece;
const input = JSON.parse(text);

const client = new OpenAI({ baseURL: input.base_url, apiKey: "unused-the-proxy-pays-with-tokens", maxRetries: 0 });
const messages = [{ role: "user", content: input.prompt }];

const models = await client.models.list();
const whole = await client.chat.completions.create({
  model: input.model, messages, max_tokens: input.max_tokens, temperature: 0,
});

const stream = await client.chat.completions.create({
  model: input.model, messages, max_tokens: input.max_tokens, temperature: 0, stream: true,
});
let chunks = 0;
let content = "";
let finish = null;
for await (const chunk of stream) {
  chunks += 1;
  const choice = chunk.choices[0];
  if (choice?.delta?.content) content += choice.delta.content;
  if (choice?.finish_reason) finish = choice.finish_reason;
}

process.stdout.write(JSON.stringify({
  whole: {
    content: whole.choices[0].message.content,
    finish_reason: whole.choices[0].finish_reason,
    completion_tokens: whole.usage?.completion_tokens ?? null,
  },
  stream: { chunks, content, finish_reason: finish },
  models: models.data.map((m) => m.id),
}));
