/**
 * --format and -f through the Go template engine, end to end on a temporary root with an
 * imported busybox: inspect, images, history, info, version and the image mount listing, and
 * bad templates (Docker 20.10.24's "template parsing error" wording, printed without "Error: " and exit codes: 64 for a template
 * that does not parse in inspect, info and version; 1 for one that fails to execute, and for
 * listings). Expected outputs are Go's printing (`[a b]`, `map[k:v]`) and Docker's reference
 * shapes (../shared/reference/docker-20.10: commit.txt, images.txt, history.txt).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { busyboxTar, cairn, cairnOk, tempDir } from './helpers.js';
import { VERSION } from '../src/cli/version.js';

let dir: { path: string; cleanup: () => Promise<void> };
let root: string;
let id: string;

before(async () => {
  dir = await tempDir();
  root = join(dir.path, 'root');
  const changes = ['-c', 'CMD ["echo", "hi"]', '-c', 'LABEL zeta=last alpha=first', '-c', 'ENV A=1 B=x>y', '-c', 'EXPOSE 8080'];
  id = (await cairnOk(root, ['import', ...changes, '-', 'fmt/bb:1'], { input: await busyboxTar() })).stdout.trim();
  await cairnOk(root, ['tag', 'fmt/bb:1', 'fmt/bb:2']);
});
after(() => dir.cleanup());

/** JSON lines without CreatedSince (a relative time that may tick between two runs). */
function withoutSince(lines: string): Array<Record<string, string>> {
  return lines.trim().split('\n').map((l) => {
    const o = JSON.parse(l) as Record<string, string>;
    assert.match(o.CreatedSince!, / ago$/);
    delete o.CreatedSince;
    return o;
  });
}

const inspectF = async (format: string, ...names: string[]): Promise<string> => (await cairnOk(root, ['inspect', '-f', format, ...(names.length ? names : ['fmt/bb:1'])])).stdout;

test('inspect -f: Go\'s printing of slices, maps, nil slices, numbers; nested fields; one line per image', async () => {
  assert.equal(await inspectF('{{.Config.Cmd}}'), '[echo hi]\n');
  assert.equal(await inspectF('{{.RepoTags}}'), '[fmt/bb:1 fmt/bb:2]\n');
  assert.equal(await inspectF('{{.Config.Env}}'), '[A=1 B=x>y]\n');
  assert.equal(await inspectF('{{.Config.Labels}}'), 'map[alpha:first zeta:last]\n');
  assert.equal(await inspectF('{{.Config.ExposedPorts}}'), 'map[8080/tcp:{}]\n');
  // Docker's typed struct: a nil StrSlice prints [], a nil map map[], an unset string field "".
  assert.equal(await inspectF('{{.Config.Entrypoint}}|{{.Config.Volumes}}|{{.Config.StopSignal}}|{{.RepoDigests}}'), '[]|map[]||[]\n');
  assert.equal(await inspectF('{{.Id}} {{.Os}}/{{.Architecture}}'), `${id} linux/${(JSON.parse((await cairnOk(root, ['inspect', 'fmt/bb:1'])).stdout) as Array<{ Architecture: string }>)[0]!.Architecture}\n`);
  // Docker's struct field is ID (JSON "Id"): .ID works on the typed struct, .Id on the raw JSON, both together on neither.
  assert.equal(await inspectF('{{.ID}}'), `${id}\n`);
  const both = await cairn(root, ['inspect', '-f', '{{.Id}} {{.ID}}', 'fmt/bb:1']);
  assert.deepEqual([both.code, both.stderr], [1, 'template parsing error: template: :1:10: executing "" at <.ID>: map has no entry for key "ID"\n']);
  assert.match(await inspectF('{{.Size}}'), /^\d+\n$/);
  assert.equal(await inspectF('{{.Id}}', 'fmt/bb:1', 'fmt/bb:2'), `${id}\n${id}\n`);
});

test('inspect -f: {{json .Config}} is the Config encoded once, without HTML escaping (as docker inspect -f in commit.txt)', async () => {
  const [full] = JSON.parse((await cairnOk(root, ['inspect', 'fmt/bb:1'])).stdout) as Array<{ Config: Record<string, unknown>; RootFS: unknown }>;
  const out = await inspectF('{{json .Config}}');
  assert.deepEqual(JSON.parse(out), full!.Config);
  assert.ok(out.includes('"B=x>y"'), 'the > is not escaped');
  assert.ok(out.startsWith('{"Hostname":""'), 'compact, in Docker\'s field order');
  assert.deepEqual(JSON.parse(await inspectF('{{json .RootFS}}')), full!.RootFS);
  assert.equal(await inspectF('{{json .RepoTags}}'), '["fmt/bb:1","fmt/bb:2"]\n');
});

test('inspect -f: range, if/else, with, index, len, printf, variables, Docker\'s functions', async () => {
  assert.equal(await inspectF('{{range $i, $t := .RepoTags}}{{if $i}},{{end}}{{$t}}{{end}}'), 'fmt/bb:1,fmt/bb:2\n');
  assert.equal(await inspectF('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}'), 'alpha=first;zeta=last;\n');
  assert.equal(await inspectF('{{if .Config.Entrypoint}}entry{{else if .Config.Cmd}}cmd{{else}}none{{end}}'), 'cmd\n');
  assert.equal(await inspectF('{{with .Config}}{{index .Cmd 1}}{{end}} {{len .RootFS.Layers}}'), 'hi 1\n');
  assert.equal(await inspectF('{{printf "%-6s|%3d" (index .Config.Cmd 0) (len .Config.Env)}}'), 'echo  |  2\n');
  assert.equal(await inspectF('{{join .Config.Cmd " "}} {{upper (index .RepoTags 0)}} {{.Config.Labels.alpha | title}}'), 'echo hi FMT/BB:1 First\n');
  assert.equal(await inspectF('{{$c := .Config}}{{- "<" -}} {{$c.WorkingDir | printf "%q"}}'), '<""\n');
});

test('inspect -f: an unknown field is Docker\'s map error (exit 1); a template that does not parse exits 64 before anything runs', async () => {
  const nope = await cairn(root, ['inspect', '-f', '{{.Nope}}', 'fmt/bb:1']);
  assert.deepEqual([nope.code, nope.stdout, nope.stderr], [1, '\n', 'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n']);
  const nested = await cairn(root, ['inspect', '-f', '{{.Config.Nope}}', 'fmt/bb:1']);
  assert.equal(nested.stderr, 'template parsing error: template: :1:9: executing "" at <.Config.Nope>: map has no entry for key "Nope"\n');
  const unclosed = await cairn(root, ['inspect', '-f', '{{.Id', 'fmt/bb:1']);
  assert.deepEqual([unclosed.code, unclosed.stdout, unclosed.stderr], [64, '', 'template parsing error: template: :1: unclosed action\n']);
  const badFunc = await cairn(root, ['inspect', '-f', '{{nosuch .Id}}', 'no/such:image']);
  assert.deepEqual([badFunc.code, badFunc.stderr], [64, 'template parsing error: template: :1: function "nosuch" not defined\n']);
  const cmp = await cairn(root, ['inspect', '-f', '{{if eq .Size "big"}}x{{end}}', 'fmt/bb:1']);
  assert.deepEqual([cmp.code, cmp.stderr], [1, 'template parsing error: template: :1:5: executing "" at <eq .Size "big">: error calling eq: incompatible types for comparison\n']);
  // The found image is printed, the missing one reported, exit 1.
  const mixed = await cairn(root, ['inspect', '-f', '{{.Id}}', 'fmt/bb:1', 'no/such:image']);
  assert.equal(mixed.code, 1);
  assert.equal(mixed.stdout, `${id}\n`);
  assert.match(mixed.stderr, /^Error: No such object: no\/such:image\n$/);
  // --format json is cairn's extension, as before.
  assert.equal((JSON.parse((await cairnOk(root, ['inspect', '--format', 'json', 'fmt/bb:1'])).stdout) as unknown[]).length, 1);
});

test('images --format: fields, {{json .}} as --format json, table with tabwriter columns, Docker\'s errors', async () => {
  assert.equal((await cairnOk(root, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout, `fmt/bb:1 ${id.slice(7, 19)}\nfmt/bb:2 ${id.slice(7, 19)}\n`);
  const json = (await cairnOk(root, ['images', '--format', 'json'])).stdout;
  assert.deepEqual(withoutSince((await cairnOk(root, ['images', '--format', '{{json .}}'])).stdout), withoutSince(json));
  assert.ok(json.includes('"Digest":"\\u003cnone\\u003e"'), 'the row\'s MarshalJSON escapes HTML as images.txt shows');
  assert.equal((await cairnOk(root, ['images', '--format', '{{json .Digest}}'])).stdout, '"<none>"\n"<none>"\n');
  const tbl = (await cairnOk(root, ['images', '--format', 'table {{.Repository}}\\t{{.Tag}}\\t{{lower .Size}}'])).stdout;
  const size = (await cairnOk(root, ['images', '--format', '{{.Size}}'])).stdout.split('\n')[0]!;
  assert.equal(tbl, `REPOSITORY   TAG       SIZE\nfmt/bb       1         ${size.toLowerCase()}\nfmt/bb       2         ${size.toLowerCase()}\n`);
  assert.match((await cairnOk(root, ['images', '--format', 'table {{.ID}}\\t{{.CreatedAt}}'])).stdout, /^IMAGE ID       CREATED AT\n[0-9a-f]{12}   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+\n/);
  assert.equal((await cairnOk(root, ['images', '--format', '{{if eq .Tag "2"}}{{.Repository}}{{end}}'])).stdout, '\nfmt/bb\n');
  const nope = await cairn(root, ['images', '--format', '{{.Tag}} {{.Nope}}']);
  assert.deepEqual([nope.code, nope.stdout, nope.stderr], [1, '', 'template parsing error: template: :1:11: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext\n']);
  const bad = await cairn(root, ['images', '--format', '{{range .}}']);
  assert.deepEqual([bad.code, bad.stdout, bad.stderr], [1, '', 'template parsing error: template: :1: unexpected EOF\n']);
});

test('history --format: fields, {{json .}} as --format json, a bad field', async () => {
  const h = (await cairnOk(root, ['history', '--format', '{{.ID}}|{{.Size}}|{{.Comment}}', 'fmt/bb:1'])).stdout;
  assert.match(h, new RegExp(`^${id.slice(7, 19)}\\|\\d+(\\.\\d+)?[kM]?B\\|Imported from -\\n$`));
  const json = (await cairnOk(root, ['history', '--format', '{{json .}}', 'fmt/bb:1'])).stdout;
  assert.deepEqual(withoutSince(json), withoutSince((await cairnOk(root, ['history', '--format', 'json', 'fmt/bb:1'])).stdout));
  assert.deepEqual(Object.keys(JSON.parse(json) as object), ['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size']);
  const nope = await cairn(root, ['history', '--format', '{{.Nope}}', 'fmt/bb:1']);
  assert.deepEqual([nope.code, nope.stderr], [1, 'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *image.historyContext\n']);
});

test('info -f honours the template; errors as Docker\'s info', async () => {
  assert.equal((await cairnOk(root, ['info', '-f', '{{.Images}} images, {{.Tags}} tags, {{.RootDir}}'])).stdout, `1 images, 2 tags, ${root}\n`);
  assert.equal((await cairnOk(root, ['info', '--format', '{{json .Images}}'])).stdout, '1\n');
  const nope = await cairn(root, ['info', '-f', '{{.Images}} {{.Nope}}']);
  // What the template wrote before it failed is printed, then a newline, as docker info does.
  assert.deepEqual([nope.code, nope.stdout, nope.stderr], [1, '1 \n', 'template: :1:14: executing "" at <.Nope>: can\'t evaluate field Nope in type system.info\n']);
  const bad = await cairn(root, ['info', '-f', '{{if}}']);
  assert.deepEqual([bad.code, bad.stderr], [64, 'template parsing error: template: :1: missing value for if\n']);
});

test('version -f: {{.Client.Version}} and friends; the template is named "version" in errors', async () => {
  assert.equal((await cairnOk(root, ['version', '-f', '{{.Client.Version}}'])).stdout, `${VERSION}\n`);
  assert.equal((await cairnOk(root, ['version', '--format', '{{.Client.Os}}/{{.Client.Arch}} {{json .Client.Version}}'])).stdout, `linux/${(JSON.parse((await cairnOk(root, ['version', '--format', 'json'])).stdout) as { Client: { Arch: string } }).Client.Arch} "${VERSION}"\n`);
  const nope = await cairn(root, ['version', '-f', '{{.Client.Nope}}']);
  assert.deepEqual([nope.code, nope.stdout, nope.stderr], [1, '\n', 'template: version:1:9: executing "version" at <.Client.Nope>: can\'t evaluate field Nope in type system.clientVersion\n']);
  const server = await cairn(root, ['version', '-f', '{{.Server.Version}}']);
  assert.deepEqual([server.code, server.stderr], [1, 'template: version:1:9: executing "version" at <.Server.Version>: nil pointer evaluating *types.Version.Version\n']);
  const bad = await cairn(root, ['version', '-f', '{{.Client.Version']);
  assert.deepEqual([bad.code, bad.stdout, bad.stderr], [64, '', 'template parsing error: template: version:1: unclosed action\n']);
});

test('image mount listing --format: a Go template per mounted image', async () => {
  const path = (await cairnOk(root, ['image', 'mount', 'fmt/bb:1'])).stdout.trim();
  try {
    assert.equal((await cairnOk(root, ['image', 'mount', '--format', '{{.ID}} {{.Path}}'])).stdout, `${id.slice(7, 19)} ${path}\n`);
    assert.equal((await cairnOk(root, ['image', 'mount', '--format', '{{.Repositories}}'])).stdout, 'fmt/bb:1,fmt/bb:2\n');
    const nope = await cairn(root, ['image', 'mount', '--format', '{{.Nope}}']);
    assert.deepEqual([nope.code, nope.stderr], [1, 'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type images.mountReporter\n']);
  } finally {
    await cairnOk(root, ['image', 'umount', 'fmt/bb:1']);
  }
});
