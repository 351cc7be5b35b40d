/**
 * Benchmark: parse + plan a generated 1,000-instruction Dockerfile (several stages, ARGs,
 * ENV, COPY --from, RUN --mount, heredocs, continuations) and print the median of N runs.
 * A script that prints, not a test. Target: well under 50 ms.
 *
 *   node dist/bench/dockerfile-parse.js [runs=30] [instructions=1000]
 */
import { performance } from 'node:perf_hooks';
import { parse } from '../src/dockerfile/parser.js';
import { planDockerfile } from '../src/dockerfile/plan.js';
import { checkDockerfile } from '../src/dockerfile/checks.js';

function generate(count: number): string {
  const out: string[] = ['# syntax=docker/dockerfile:1', 'ARG BASE=alpine:3.19', 'ARG VERSION=1.0.0'];
  let n = 2;
  let stage = 0;
  while (n < count) {
    const name = `s${stage}`;
    out.push(stage === 0 ? `FROM \${BASE} AS ${name}` : `FROM ${stage % 3 === 0 ? `s${stage - 1}` : '${BASE}'} AS ${name}`);
    out.push('ARG VERSION', `ENV APP_HOME=/opt/app${stage} VERSION=\${VERSION}`, 'WORKDIR $APP_HOME');
    n += 4;
    for (let i = 0; i < 40 && n < count; i++, n++) {
      switch (i % 8) {
        case 0:
          out.push(`RUN --mount=type=cache,target=/root/.cache/${i} echo step ${i} && \\`, `    ls -la $APP_HOME/${i}`);
          break;
        case 1:
          out.push(`COPY --chown=1000:1000 src/${i}/ $APP_HOME/src/${i}/`);
          break;
        case 2:
          out.push(`ENV STEP_${i}=value-${i} PATH=$APP_HOME/bin:$PATH`);
          break;
        case 3:
          out.push(stage > 0 ? `COPY --from=s${stage - 1} /opt/app${stage - 1}/out /in/${i}` : `LABEL step.${i}="label ${i}"`);
          break;
        case 4:
          out.push(`RUN <<EOF`, `echo heredoc ${i}`, `EOF`);
          break;
        case 5:
          out.push(`EXPOSE ${8000 + i}/tcp`);
          break;
        case 6:
          out.push(`ARG OPT_${i}=\${VERSION}-${i}`);
          break;
        default:
          out.push(`USER app:\${VERSION}`);
      }
    }
    out.push('CMD ["/bin/app"]');
    n++;
    stage++;
  }
  return out.join('\n') + '\n';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const runs = Number(process.argv[2] ?? 30);
const count = Number(process.argv[3] ?? 1000);
const text = generate(count);
const instructions = parse(text).ast.children.length;

function time(fn: () => void): number[] {
  for (let i = 0; i < 3; i++) fn(); // warm-up
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return ts;
}

const parseTimes = time(() => parse(text));
const planTimes = time(() => planDockerfile({ text, platform: 'linux/amd64', buildPlatform: 'linux/amd64' }));
const checkTimes = time(() => checkDockerfile({ text }));
const plan = planDockerfile({ text, platform: 'linux/amd64', buildPlatform: 'linux/amd64' });

console.log(`Dockerfile: ${instructions} instructions, ${text.split('\n').length - 1} lines, ${plan.stages.length} stages, ${plan.groups.length} levels`);
console.log(`parse:        median ${median(parseTimes).toFixed(2)} ms over ${runs} runs`);
console.log(`parse + plan: median ${median(planTimes).toFixed(2)} ms over ${runs} runs (target < 50 ms)`);
console.log(`build checks: median ${median(checkTimes).toFixed(2)} ms over ${runs} runs`);
