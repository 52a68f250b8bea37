// Fill-mask goldens through a console, compared at the tolerances of the x64 tests
// (tests/XlmEdge.Tests/Model/FillMaskGoldenTests.cs: logits 1e-4, probabilities 1e-5, same top-5).
//   node fill-mask-goldens.mjs requests GOLDENS.json          > requests.jsonl
//   node fill-mask-goldens.mjs compare  GOLDENS.json ANSWERS  (exit 1 on any difference)
import { readFileSync } from "node:fs";

const [mode, goldensPath, answersPath] = process.argv.slice(2);
const goldens = JSON.parse(readFileSync(goldensPath, "utf8"));
const LOGIT = 1e-4, PROB = 1e-5;

if (mode === "requests") {
  for (const c of goldens.cases)
    console.log(JSON.stringify(c.text != null ? { text: c.text, lang: c.lang } : { input_ids: c.input_ids, lang: c.lang }));
} else if (mode === "compare") {
  const answers = readFileSync(answersPath, "utf8").split("\n").filter(l => l.trim()).map(l => JSON.parse(l));
  const errors = [];
  if (answers.length !== goldens.cases.length)
    errors.push(`${answers.length} answers for ${goldens.cases.length} cases`);
  let maxLogit = 0;
  goldens.cases.forEach((c, i) => {
    const a = answers[i];
    if (!a || a.error) { errors.push(`${c.id}: ${a ? a.error : "no answer"}`); return; }
    if (JSON.stringify(a.input_ids) !== JSON.stringify(c.input_ids)) errors.push(`${c.id}: input_ids differ`);
    c.masks.forEach((m, k) => {
      const got = a.masks[k];
      if (!got || got.position !== m.position) { errors.push(`${c.id} mask ${k}: position`); return; }
      m.top5.forEach((want, r) => {
        const cand = got.candidates[r];
        const tie = r < 4 ? Math.abs(m.top5[r].logit - m.top5[r + 1].logit) <= 2 * LOGIT : m.top6_min_logit_gap <= 2 * LOGIT;
        if (!cand || (cand.token !== want.id && !tie)) { errors.push(`${c.id} mask ${k} rank ${r}: id ${cand && cand.token}, golden ${want.id}`); return; }
        const d = Math.abs(cand.logit - m.logits[cand.token]);
        maxLogit = Math.max(maxLogit, d);
        if (d > LOGIT) errors.push(`${c.id} mask ${k} rank ${r}: logit off by ${d}`);
        if (cand.token === want.id && Math.abs(cand.score - want.prob) > PROB) errors.push(`${c.id} mask ${k} rank ${r}: prob off by ${Math.abs(cand.score - want.prob)}`);
      });
    });
  });
  if (errors.length) { console.error(errors.slice(0, 20).join("\n")); process.exit(1); }
  console.log(`${goldens.cases.length} cases match (max logit difference ${maxLogit.toExponential(2)})`);
} else {
  console.error("usage: fill-mask-goldens.mjs requests|compare GOLDENS [ANSWERS]");
  process.exit(2);
}
