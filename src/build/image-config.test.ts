/**
 * Tests for image-config.ts. Every expected config, history string and environment below was
 * checked against docker 20.10.24 (Debian 20.10.24+dfsg1, its built-in BuildKit v0.8) on the
 * machine: `DOCKER_BUILDKIT=1 docker build --network=none`, then the raw config read from the
 * daemon's image store. The base image helpera/busybox:1 was a busybox rootfs made with
 * `docker import`; RAW_* strings are the exact config bytes docker wrote, and the layer
 * diffIDs and times fed to recordLayer are the ones docker recorded for each step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Digest } from '../digest/digest.js';
import { planDockerfile, type PlanOptions, type RunStep, type Step } from '../dockerfile/index.js';
import { InvalidArgumentError } from '../errors.js';
import { canonicalJson } from '../oci/json.js';
import { parsePlatform } from '../oci/platform.js';
import type { ImageConfig } from '../oci/types.js';
import {
  applyStep,
  copyDestination,
  finishImage,
  goDuration,
  goQuoteRune,
  goTime,
  initialImage,
  recordLayer,
  runArgv,
  runEnvironment,
  type BuiltImage,
  type FinishOptions,
  type ImageState,
  type StepOutcome,
} from './image-config.js';

// ---- fixtures (docker 20.10.24's own bytes)

/** helpera/busybox:1, as `docker import` wrote it. */
const RAW_BUSYBOX = String.raw`{"architecture":"amd64","comment":"Imported from -","config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"created":"2026-12-05T09:58:26.705396129Z","docker_version":"20.10.24+dfsg1","history":[{"created":"2026-12-05T09:58:26.705396129Z","comment":"Imported from -"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:50356e5f1e2a0734ecdf6dff6d74ca5a865315ff6d642b6528268c78cf402e3e"]}}`;

/** helpera/t6: built FROM helpera/busybox:1 by the classic builder (LABEL, EXPOSE, VOLUME, SHELL, STOPSIGNAL, HEALTHCHECK, 2 ONBUILD, USER, WORKDIR, CMD). */
const RAW_CLASSIC_BASE = String.raw`{"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"0:0","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"80/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh","-x","-c","echo base"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000},"Image":"sha256:1a301c61cbf3571f3be737eddd88b27e4ee720d555ba85fb2f45a27f61ac2e10","Volumes":{"/vol":{}},"WorkingDir":"/w","Entrypoint":null,"OnBuild":["RUN echo trig \u003e /trig.txt","ENV FROM_TRIGGER=1"],"Labels":{"base.label":"1","over":"base"},"StopSignal":"SIGUSR1","Shell":["/bin/sh","-x","-c"]},"container":"7fd9a7918e49d5c08140058784d1905df9e3aa1270cabe6eacbb0d331dbc0665","container_config":{"Hostname":"7fd9a7918e49","Domainname":"","User":"0:0","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"80/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh","-x","-c","#(nop) ","CMD [\"/bin/sh\" \"-x\" \"-c\" \"echo base\"]"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000},"Image":"sha256:1a301c61cbf3571f3be737eddd88b27e4ee720d555ba85fb2f45a27f61ac2e10","Volumes":{"/vol":{}},"WorkingDir":"/w","Entrypoint":null,"OnBuild":["RUN echo trig \u003e /trig.txt","ENV FROM_TRIGGER=1"],"Labels":{"base.label":"1","over":"base"},"StopSignal":"SIGUSR1","Shell":["/bin/sh","-x","-c"]},"created":"2026-12-05T10:00:18.019065791Z","docker_version":"20.10.24+dfsg1","history":[{"created":"2026-12-05T09:58:26.705396129Z","comment":"Imported from -"},{"created":"2026-12-05T10:00:17.417249343Z","created_by":"/bin/sh -c #(nop)  LABEL base.label=1 over=base","empty_layer":true},{"created":"2026-12-05T10:00:17.468043528Z","created_by":"/bin/sh -c #(nop)  EXPOSE 80","empty_layer":true},{"created":"2026-12-05T10:00:17.520415026Z","created_by":"/bin/sh -c #(nop)  VOLUME [/vol]","empty_layer":true},{"created":"2026-12-05T10:00:17.575846309Z","created_by":"/bin/sh -x -c #(nop)  SHELL [/bin/sh -x -c]","empty_layer":true},{"created":"2026-12-05T10:00:17.627056892Z","created_by":"/bin/sh -x -c #(nop)  STOPSIGNAL SIGUSR1","empty_layer":true},{"created":"2026-12-05T10:00:17.67926707Z","created_by":"/bin/sh -x -c #(nop)  HEALTHCHECK \u0026{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" '\\x00'}","empty_layer":true},{"created":"2026-12-05T10:00:17.759149961Z","created_by":"/bin/sh -x -c #(nop)  ONBUILD RUN echo trig \u003e /trig.txt","empty_layer":true},{"created":"2026-12-05T10:00:17.824848393Z","created_by":"/bin/sh -x -c #(nop)  ONBUILD ENV FROM_TRIGGER=1","empty_layer":true},{"created":"2026-12-05T10:00:17.900706266Z","created_by":"/bin/sh -x -c #(nop)  USER 0:0","empty_layer":true},{"created":"2026-12-05T10:00:17.961605049Z","created_by":"/bin/sh -x -c #(nop) WORKDIR /w"},{"created":"2026-12-05T10:00:18.019065791Z","created_by":"/bin/sh -x -c #(nop)  CMD [\"/bin/sh\" \"-x\" \"-c\" \"echo base\"]","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:50356e5f1e2a0734ecdf6dff6d74ca5a865315ff6d642b6528268c78cf402e3e","sha256:bf1cef46647e6806b2550131743396130d8e92b2e42d797ebf9466cd59bd3dd1"]}}`;

const BASES: Record<string, ImageConfig> = {
  'docker.io/helpera/busybox:1': JSON.parse(RAW_BUSYBOX) as ImageConfig,
  'docker.io/helpera/t6:latest': JSON.parse(RAW_CLASSIC_BASE) as ImageConfig,
};

const D = (hex: string): Digest => `sha256:${hex}` as Digest;
const T = (t: string): string => `2026-12-05T${t}Z`;

// ---- harness: plan, apply every step of every stage, record docker's layers, finish

interface Built {
  image: BuiltImage;
  /** Each stage's outcomes, by stage index. */
  outcomes: Map<number, StepOutcome[]>;
  states: Map<number, ImageState>;
}

function build(text: string, layers: Array<[Digest, string]>, opts: Partial<PlanOptions> & { finish?: FinishOptions } = {}): Built {
  const { finish, ...planOpts } = opts;
  const plan = planDockerfile({
    text,
    platform: 'linux/amd64',
    buildPlatform: 'linux/amd64',
    imageEnv: (ref) => BASES[ref]?.config?.Env ?? undefined,
    allStages: true,
    ...planOpts,
  });
  const queue = [...layers];
  const states = new Map<number, ImageState>();
  const outcomes = new Map<number, StepOutcome[]>();
  for (const stage of plan.stages) {
    let state: ImageState;
    if (stage.base.type === 'scratch') state = initialImage({ type: 'scratch', platform: parsePlatform(plan.platforms.target) });
    else if (stage.base.type === 'stage') state = initialImage({ type: 'stage', state: states.get(stage.base.stage) as ImageState });
    else state = initialImage({ type: 'image', config: BASES[stage.base.normalized] as ImageConfig });
    const outs: StepOutcome[] = [];
    for (const step of stage.steps) {
      const out = applyStep(state, step, { proxyEnv: plan.proxyEnv });
      outs.push(out);
      state = out.state;
      if (out.action !== undefined) {
        const layer = queue.shift();
        assert.ok(layer, `no layer for ${step.original}`);
        state = recordLayer(state, { diffId: layer[0], created: layer[1] });
      }
    }
    states.set(stage.index, state);
    outcomes.set(stage.index, outs);
  }
  assert.equal(queue.length, 0, 'every layer docker made was used');
  const target = states.get(plan.target) as ImageState;
  return { image: finishImage(target, finish), outcomes, states };
}

function createdBy(b: Built): Array<string | undefined> {
  return (b.image.history ?? []).map((h) => h.created_by);
}

/** The config bytes cairn would write, compared with docker's. */
function assertSameBytes(image: BuiltImage, raw: string): void {
  assert.equal(canonicalJson(image).toString('utf8'), raw);
}

// ---- whole builds, byte for byte

test('a base image build: ENV, RUN, LABEL, WORKDIR (a layer), COPY, EXPOSE, USER, CMD — config bytes equal docker 20.10.24', () => {
  const b = build(
    'FROM helpera/busybox:1\nENV GREETING=hello\nRUN echo "$GREETING" > /greeting\nLABEL org.example.demo=1\nWORKDIR /app\nCOPY a.txt .\nEXPOSE 8080/tcp\nUSER 1000:1000\nCMD ["sh"]\n',
    [
      [D('c8eb878e875b890a1ab7740383fa77cd2ef77be9a61939c3acd4f3c82ebdc647'), T('09:58:30.006695806')],
      [D('fb94a2cafd6feadb4436716d29ec1e77b8a2c75ac9a1ac84d5cbf74d9b769e98'), T('09:58:30.012754685')],
      [D('760958c5f1a668456f6019889df6709fc48d97ac8d20a60011227c22528a1051'), T('09:58:30.019065919')],
    ],
  );
  assertSameBytes(
    b.image,
    String.raw`{"architecture":"amd64","config":{"User":"1000:1000","ExposedPorts":{"8080/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","GREETING=hello"],"Cmd":["sh"],"WorkingDir":"/app","Labels":{"org.example.demo":"1"},"ArgsEscaped":true,"OnBuild":null},"created":"2026-12-05T09:58:30.019065919Z","history":[{"created":"2026-12-05T09:58:26.705396129Z","comment":"Imported from -"},{"created":"2026-12-05T09:58:30.006695806Z","created_by":"ENV GREETING=hello","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:30.006695806Z","created_by":"RUN /bin/sh -c echo \"$GREETING\" \u003e /greeting # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:30.006695806Z","created_by":"LABEL org.example.demo=1","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:30.012754685Z","created_by":"WORKDIR /app","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:30.019065919Z","created_by":"COPY a.txt . # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:30.019065919Z","created_by":"EXPOSE map[8080/tcp:{}]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:30.019065919Z","created_by":"USER 1000:1000","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:30.019065919Z","created_by":"CMD [\"sh\"]","comment":"buildkit.dockerfile.v0","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:50356e5f1e2a0734ecdf6dff6d74ca5a865315ff6d642b6528268c78cf402e3e","sha256:c8eb878e875b890a1ab7740383fa77cd2ef77be9a61939c3acd4f3c82ebdc647","sha256:fb94a2cafd6feadb4436716d29ec1e77b8a2c75ac9a1ac84d5cbf74d9b769e98","sha256:760958c5f1a668456f6019889df6709fc48d97ac8d20a60011227c22528a1051"]}}`,
  );
  const outs = b.outcomes.get(0) as StepOutcome[];
  assert.deepEqual(outs[3]?.action, { kind: 'mkdir', path: '/app', mode: 0o755, user: '' });
  assert.deepEqual(outs[4]?.action, { kind: 'copy', dest: '/app/', unpack: false });
});

const ALL_METADATA = `FROM scratch
MAINTAINER Jane Doe <jane@example.com>
ARG A=1 B
ARG C
ENV X=1 Y="two words"
ENV X=3
LABEL k=v "a b"="c d"
EXPOSE 80 8080/tcp 53/udp 443 7000-7002
VOLUME /data ["/other"]
VOLUME /data2 /data3
SHELL ["/bin/bash", "-eu", "-c"]
CMD echo "hi there"
ENTRYPOINT ["/bin/tini", "--"]
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -f http://localhost/ || exit 1
STOPSIGNAL SIGTERM
ONBUILD RUN echo onbuild
WORKDIR relative
WORKDIR /abs/dir/
WORKDIR ../x
USER nobody
`;

test('scratch and every metadata instruction, build args overriding ARG defaults — config bytes equal docker 20.10.24', () => {
  const b = build(
    ALL_METADATA,
    [
      [D('f546e2854a25ac9b302b31e04ec5fda91d0187e8ecafc4337ff8c48e2a45626f'), T('09:58:35.721211922')],
      [D('2e5c726e9f95467a0cb910d05097d62489431886b29df8ec15a2d3278a2180a6'), T('09:58:35.728583411')],
      [D('890bb1a1ebbda8c643e821ea6f04c2af663e3039b326bbbbe9041c61b5b58c80'), T('09:58:35.735307548')],
    ],
    { buildArgs: { B: 'bval', A: 'override' } },
  );
  assertSameBytes(
    b.image,
    String.raw`{"architecture":"amd64","author":"Jane Doe \u003cjane@example.com\u003e","config":{"User":"nobody","ExposedPorts":{"443/tcp":{},"53/udp":{},"7000/tcp":{},"7001/tcp":{},"7002/tcp":{},"80/tcp":{},"8080/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","X=3","Y=two words"],"Entrypoint":["/bin/tini","--"],"Cmd":["/bin/bash","-eu","-c","echo \"hi there\""],"Volumes":{"/data":{},"/data2":{},"/data3":{},"[/other]":{}},"WorkingDir":"/abs/x","Labels":{"a b":"c d","k":"v"},"StopSignal":"SIGTERM","Healthcheck":{"Test":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"Interval":30000000000,"Timeout":5000000000,"Retries":3},"ArgsEscaped":true,"OnBuild":["RUN echo onbuild"],"Shell":["/bin/bash","-eu","-c"]},"created":"2026-12-05T09:58:35.735307548Z","history":[{"created":"2026-12-05T09:58:35.721211922Z","created_by":"MAINTAINER Jane Doe \u003cjane@example.com\u003e","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"ARG A=1 B","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"ARG C","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"ENV X=1 Y=two words","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"ENV X=3","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"LABEL k=v a b=c d","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"EXPOSE map[443/tcp:{} 53/udp:{} 7000/tcp:{} 7001/tcp:{} 7002/tcp:{} 80/tcp:{} 8080/tcp:{}]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"VOLUME [/data [/other]]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"VOLUME [/data2 /data3]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"SHELL [/bin/bash -eu -c]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"CMD [\"/bin/bash\" \"-eu\" \"-c\" \"echo \\\"hi there\\\"\"]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"ENTRYPOINT [\"/bin/tini\" \"--\"]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"HEALTHCHECK \u0026{[\"CMD-SHELL\" \"curl -f http://localhost/ || exit 1\"] \"30s\" \"5s\" \"0s\" '\\x03'}","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"STOPSIGNAL SIGTERM","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:35.721211922Z","created_by":"WORKDIR /relative","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:35.728583411Z","created_by":"WORKDIR /abs/dir/","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:35.735307548Z","created_by":"WORKDIR /abs/x","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:35.735307548Z","created_by":"USER nobody","comment":"buildkit.dockerfile.v0","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:f546e2854a25ac9b302b31e04ec5fda91d0187e8ecafc4337ff8c48e2a45626f","sha256:2e5c726e9f95467a0cb910d05097d62489431886b29df8ec15a2d3278a2180a6","sha256:890bb1a1ebbda8c643e821ea6f04c2af663e3039b326bbbbe9041c61b5b58c80"]}}`,
  );
  // ONBUILD stored its trigger and wrote no history entry.
  const outs = b.outcomes.get(0) as StepOutcome[];
  const onbuild = outs[stepsOf(ALL_METADATA).findIndex((s) => s.instruction === 'ONBUILD')];
  assert.ok(onbuild);
  assert.equal(onbuild.history, undefined);
  assert.equal(onbuild.action, undefined);
  assert.equal(outs.filter((o) => o.history !== undefined).length, 18);
});

test('scratch without layers: created and diff_ids null, WORKDIR / no layer, HEALTHCHECK NONE, --label merged — bytes equal docker 20.10.24', () => {
  const b = build('FROM scratch\nENV A=1\nLABEL x=y\nWORKDIR /\nHEALTHCHECK NONE\n', [], { finish: { labels: { 'build.label': '1', x: 'override' } } });
  assertSameBytes(
    b.image,
    String.raw`{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"WorkingDir":"/","Labels":{"build.label":"1","x":"override"},"Healthcheck":{"Test":["NONE"]},"OnBuild":null},"created":null,"history":[{"created_by":"ENV A=1","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created_by":"LABEL x=y","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created_by":"WORKDIR /","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created_by":"HEALTHCHECK \u0026{[\"NONE\"] \"0s\" \"0s\" \"0s\" '\\x00'}","comment":"buildkit.dockerfile.v0","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":null}}`,
  );
});

test('metadata only on a base image: every new entry and created take the base image last time (docker 20.10.24)', () => {
  const b = build('FROM helpera/busybox:1\nENV A=1\n', []);
  assertSameBytes(
    b.image,
    String.raw`{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"OnBuild":null},"created":"2026-12-05T09:58:26.705396129Z","history":[{"created":"2026-12-05T09:58:26.705396129Z","comment":"Imported from -"},{"created":"2026-12-05T09:58:26.705396129Z","created_by":"ENV A=1","comment":"buildkit.dockerfile.v0","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:50356e5f1e2a0734ecdf6dff6d74ca5a865315ff6d642b6528268c78cf402e3e"]}}`,
  );
});

test('an explicit --platform sets architecture, os and variant (docker 20.10.24, --platform linux/arm/v7)', () => {
  const b = build('FROM scratch\nENV A=1\n', [], { platform: 'linux/arm/v7', finish: { platform: parsePlatform('linux/arm/v7') } });
  assertSameBytes(
    b.image,
    String.raw`{"architecture":"arm","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"WorkingDir":"/","OnBuild":null},"created":null,"history":[{"created_by":"ENV A=1","comment":"buildkit.dockerfile.v0","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":null},"variant":"v7"}`,
  );
});

const MULTI_STAGE = `FROM helpera/busybox:1 AS base
ARG P=parent
ENV E=env
CMD ["base-cmd"]
RUN echo "P=$P" > /p.txt
ONBUILD RUN echo from-onbuild > /onbuild.txt

FROM base AS build
ARG A=1
ARG B
ARG A=2
ARG E=argE
ARG NOVAL
ENV A=fromenv
RUN env | sort > /env.txt; true
RUN ["/bin/sh", "-c", "echo json"]
SHELL ["/bin/sh", "-e", "-c"]
RUN true
COPY --chown=1:2 --chmod=600 a.txt b.txt /dst/
ADD --chown=3 a.txt rel/
ENTRYPOINT ["/bin/echo"]

FROM build
COPY --from=build --chown=5:5 /env.txt /env2.txt
COPY --from=0 /p.txt ./
`;

function multiStage(): Built {
  return build(
    MULTI_STAGE,
    [
      [D('773b9cfd02ac09f62a63cb3cec1d08d7cfe4ba3fdfb6e6b5da8611b15ec8f262'), T('09:58:57.63329352')],
      [D('8dfa25d4af7fa7c8dd35afbdcc16631aa24577da267978a9712e88dea4ff7cc2'), T('09:58:57.688391268')],
      [D('0106cfed64d4a21360b972c2cd62f1a793fc1fa373eabe6edfdf02d60c9dfbe9'), T('09:58:57.739758854')],
      [D('d6f7a7814dba387c5af73946b7d21d7f6cee57162553b243587b5dea21d3876a'), T('09:58:57.790738595')],
      [D('d6f7a7814dba387c5af73946b7d21d7f6cee57162553b243587b5dea21d3876a'), T('09:58:57.830364722')],
      [D('557aa41c24d06abbae07d85b8377f6355ec42b958d19ced61edda16465980e67'), T('09:58:57.83862461')],
      [D('5134ee782f12344c78257c2a1cea11b88577c9ce72b682a74612d41e65c69472'), T('09:58:57.845418301')],
      [D('da7fcd14a1f2f3c241b6db55ea3a0b4a913b6415f3879bccdc460437235035e7'), T('09:58:57.851290103')],
      [D('9594126d547e39ca7d40589ec3caab7eb6eb31796bcd5fa2dbae11fbf439e614'), T('09:58:57.857037659')],
    ],
    { buildArgs: { B: 'bval', http_proxy: 'http://proxy.invalid:1', UNUSED: '1' } },
  );
}

test('multi-stage: RUN |N lists this stage ARGs (duplicates, ENV values, empty ones), COPY/ADD history without flags, ONBUILD of a stage base, ENTRYPOINT drops an inherited Cmd — bytes equal docker 20.10.24', () => {
  assertSameBytes(
    multiStage().image,
    String.raw`{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","E=env","A=fromenv"],"Entrypoint":["/bin/echo"],"ArgsEscaped":true,"OnBuild":null,"Shell":["/bin/sh","-e","-c"]},"created":"2026-12-05T09:58:57.857037659Z","history":[{"created":"2026-12-05T09:58:26.705396129Z","comment":"Imported from -"},{"created":"2026-12-05T09:58:57.63329352Z","created_by":"ARG P=parent","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.63329352Z","created_by":"ENV E=env","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.63329352Z","created_by":"CMD [\"base-cmd\"]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.63329352Z","created_by":"RUN |1 P=parent /bin/sh -c echo \"P=$P\" \u003e /p.txt # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:57.688391268Z","created_by":"RUN /bin/sh -c echo from-onbuild \u003e /onbuild.txt # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:57.688391268Z","created_by":"ARG A=1","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.688391268Z","created_by":"ARG B","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.688391268Z","created_by":"ARG A=2","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.688391268Z","created_by":"ARG E=argE","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.688391268Z","created_by":"ARG NOVAL","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.688391268Z","created_by":"ENV A=fromenv","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.739758854Z","created_by":"RUN |5 A=fromenv B=bval A=fromenv E=argE NOVAL= /bin/sh -c env | sort \u003e /env.txt; true # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:57.790738595Z","created_by":"RUN |5 A=fromenv B=bval A=fromenv E=argE NOVAL= /bin/sh -c echo json # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:57.790738595Z","created_by":"SHELL [/bin/sh -e -c]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.830364722Z","created_by":"RUN |5 A=fromenv B=bval A=fromenv E=argE NOVAL= /bin/sh -e -c true # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:57.83862461Z","created_by":"COPY a.txt b.txt /dst/ # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:57.845418301Z","created_by":"ADD a.txt rel/ # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:57.845418301Z","created_by":"ENTRYPOINT [\"/bin/echo\"]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T09:58:57.851290103Z","created_by":"COPY /env.txt /env2.txt # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T09:58:57.857037659Z","created_by":"COPY /p.txt ./ # buildkit","comment":"buildkit.dockerfile.v0"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:50356e5f1e2a0734ecdf6dff6d74ca5a865315ff6d642b6528268c78cf402e3e","sha256:773b9cfd02ac09f62a63cb3cec1d08d7cfe4ba3fdfb6e6b5da8611b15ec8f262","sha256:8dfa25d4af7fa7c8dd35afbdcc16631aa24577da267978a9712e88dea4ff7cc2","sha256:0106cfed64d4a21360b972c2cd62f1a793fc1fa373eabe6edfdf02d60c9dfbe9","sha256:d6f7a7814dba387c5af73946b7d21d7f6cee57162553b243587b5dea21d3876a","sha256:d6f7a7814dba387c5af73946b7d21d7f6cee57162553b243587b5dea21d3876a","sha256:557aa41c24d06abbae07d85b8377f6355ec42b958d19ced61edda16465980e67","sha256:5134ee782f12344c78257c2a1cea11b88577c9ce72b682a74612d41e65c69472","sha256:da7fcd14a1f2f3c241b6db55ea3a0b4a913b6415f3879bccdc460437235035e7","sha256:9594126d547e39ca7d40589ec3caab7eb6eb31796bcd5fa2dbae11fbf439e614"]}}`,
  );
});

test('multi-stage: the RUN environment holds the parent stage ARG and the proxy variables (docker 20.10.24 `env | sort`)', () => {
  const build1 = multiStage().outcomes.get(1) as StepOutcome[];
  const run = build1.find((o) => o.action?.kind === 'run' && o.history?.created_by?.includes('env | sort'));
  assert.ok(run?.action?.kind === 'run');
  // docker printed (sorted, HOME/PWD/SHLVL from the shell and runtime left out):
  // A=fromenv B=bval E=argE HTTP_PROXY=... P=parent PATH=... http_proxy=...
  assert.deepEqual([...run.action.env].sort(), [
    'A=fromenv',
    'B=bval',
    'E=argE',
    'HTTP_PROXY=http://proxy.invalid:1',
    'P=parent',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'http_proxy=http://proxy.invalid:1',
  ]);
  assert.deepEqual(run.action.argv, ['/bin/sh', '-c', 'env | sort > /env.txt; true']);
  const copy = build1.find((o) => o.history?.created_by?.startsWith('COPY'));
  // --chmod=600 made the files 0600 and --chown=1:2 their owner (ls -ln in the built image).
  assert.deepEqual(copy?.action, { kind: 'copy', dest: '/dst/', chown: '1:2', mode: 0o600, unpack: false });
  const add = build1.find((o) => o.history?.created_by?.startsWith('ADD'));
  assert.deepEqual(add?.action, { kind: 'copy', dest: '/rel/', chown: '3', unpack: true });
});

test('RUN environment order is llb AddOrReplace: a key set again moves to the end (docker 20.10.24 RUN ["/bin/env"])', () => {
  const b = build('FROM helpera/busybox:1\nENV X=1 Y=2\nARG A=a\nENV Z=3\nENV X=4\nARG Y=argy\nRUN ["/bin/env"]\n', [[D('aa'.repeat(32)), T('10:00:00')]]);
  const run = (b.outcomes.get(0) as StepOutcome[]).find((o) => o.action !== undefined);
  assert.ok(run?.action?.kind === 'run');
  // docker printed these in this order, then HOME=/ (added by the runtime).
  assert.deepEqual(run.action.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=a', 'Z=3', 'X=4', 'Y=argy']);
  assert.deepEqual(run.action.argv, ['/bin/env']);
  // The config's Env replaces in place and never holds ARGs.
  assert.deepEqual(b.image.config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'X=4', 'Y=2', 'Z=3']);
  assert.equal(run.history?.created_by, 'RUN |2 A=a Y=argy /bin/env # buildkit');
});

test('a classic-builder base: container_config and the rest dropped, config kept, ONBUILD triggers run then cleared, SHELL used for ENTRYPOINT — bytes equal docker 20.10.24', () => {
  const base = initialImage({ type: 'image', config: BASES['docker.io/helpera/t6:latest'] as ImageConfig });
  assert.deepEqual(base.baseTriggers, ['RUN echo trig > /trig.txt', 'ENV FROM_TRIGGER=1']);
  // The caller plans the base image's triggers; here they lead the Dockerfile, as BuildKit runs them first.
  const b = build(
    'FROM helpera/t6\nRUN echo trig > /trig.txt\nENV FROM_TRIGGER=1\nLABEL over=child\nEXPOSE 80/tcp 81\nENV X=1\nENV Y=2\nENV X=3\nRUN env > /env.txt\nENTRYPOINT echo ep\n',
    [
      [D('cdc6674799fcea13fd669d150b8071d65c8e7911cfd3c98191b193bb976aca4d'), T('10:00:18.23077235')],
      [D('f3a245ce8a9cb0c934905919bc56000b4c64b68592246e8d2586c74870d314b8'), T('10:00:18.285250557')],
    ],
  );
  assertSameBytes(
    b.image,
    String.raw`{"architecture":"amd64","config":{"User":"0:0","ExposedPorts":{"80/tcp":{},"81/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","FROM_TRIGGER=1","X=3","Y=2"],"Entrypoint":["/bin/sh","-x","-c","echo ep"],"Volumes":{"/vol":{}},"WorkingDir":"/w","Labels":{"base.label":"1","over":"child"},"StopSignal":"SIGUSR1","Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000},"OnBuild":null,"Shell":["/bin/sh","-x","-c"]},"created":"2026-12-05T10:00:18.285250557Z","history":[{"created":"2026-12-05T09:58:26.705396129Z","comment":"Imported from -"},{"created":"2026-12-05T10:00:17.417249343Z","created_by":"/bin/sh -c #(nop)  LABEL base.label=1 over=base","empty_layer":true},{"created":"2026-12-05T10:00:17.468043528Z","created_by":"/bin/sh -c #(nop)  EXPOSE 80","empty_layer":true},{"created":"2026-12-05T10:00:17.520415026Z","created_by":"/bin/sh -c #(nop)  VOLUME [/vol]","empty_layer":true},{"created":"2026-12-05T10:00:17.575846309Z","created_by":"/bin/sh -x -c #(nop)  SHELL [/bin/sh -x -c]","empty_layer":true},{"created":"2026-12-05T10:00:17.627056892Z","created_by":"/bin/sh -x -c #(nop)  STOPSIGNAL SIGUSR1","empty_layer":true},{"created":"2026-12-05T10:00:17.67926707Z","created_by":"/bin/sh -x -c #(nop)  HEALTHCHECK \u0026{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" '\\x00'}","empty_layer":true},{"created":"2026-12-05T10:00:17.759149961Z","created_by":"/bin/sh -x -c #(nop)  ONBUILD RUN echo trig \u003e /trig.txt","empty_layer":true},{"created":"2026-12-05T10:00:17.824848393Z","created_by":"/bin/sh -x -c #(nop)  ONBUILD ENV FROM_TRIGGER=1","empty_layer":true},{"created":"2026-12-05T10:00:17.900706266Z","created_by":"/bin/sh -x -c #(nop)  USER 0:0","empty_layer":true},{"created":"2026-12-05T10:00:17.961605049Z","created_by":"/bin/sh -x -c #(nop) WORKDIR /w"},{"created":"2026-12-05T10:00:18.019065791Z","created_by":"/bin/sh -x -c #(nop)  CMD [\"/bin/sh\" \"-x\" \"-c\" \"echo base\"]","empty_layer":true},{"created":"2026-12-05T10:00:18.23077235Z","created_by":"RUN /bin/sh -x -c echo trig \u003e /trig.txt # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T10:00:18.285250557Z","created_by":"ENV FROM_TRIGGER=1","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T10:00:18.285250557Z","created_by":"LABEL over=child","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T10:00:18.285250557Z","created_by":"EXPOSE map[80/tcp:{} 81/tcp:{}]","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T10:00:18.285250557Z","created_by":"ENV X=1","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T10:00:18.285250557Z","created_by":"ENV Y=2","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T10:00:18.285250557Z","created_by":"ENV X=3","comment":"buildkit.dockerfile.v0","empty_layer":true},{"created":"2026-12-05T10:00:18.285250557Z","created_by":"RUN /bin/sh -x -c env \u003e /env.txt # buildkit","comment":"buildkit.dockerfile.v0"},{"created":"2026-12-05T10:00:18.285250557Z","created_by":"ENTRYPOINT [\"/bin/sh\" \"-x\" \"-c\" \"echo ep\"]","comment":"buildkit.dockerfile.v0","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:50356e5f1e2a0734ecdf6dff6d74ca5a865315ff6d642b6528268c78cf402e3e","sha256:bf1cef46647e6806b2550131743396130d8e92b2e42d797ebf9466cd59bd3dd1","sha256:cdc6674799fcea13fd669d150b8071d65c8e7911cfd3c98191b193bb976aca4d","sha256:f3a245ce8a9cb0c934905919bc56000b4c64b68592246e8d2586c74870d314b8"]}}`,
  );
  // The base's WORKDIR and USER are in effect for the first RUN (docker: PWD=/w).
  const run = (b.outcomes.get(0) as StepOutcome[])[0];
  assert.ok(run?.action?.kind === 'run');
  assert.equal(run.action.cwd, '/w');
  assert.equal(run.action.user, '0:0');
});

// ---- single instructions

function stepsOf(text: string, opts: Partial<PlanOptions> = {}): Step[] {
  const plan = planDockerfile({ text, platform: 'linux/amd64', buildPlatform: 'linux/amd64', ...opts });
  return (plan.stages[plan.stages.length - 1] as { steps: Step[] }).steps;
}

function applyAll(text: string, opts: Partial<PlanOptions> = {}): { state: ImageState; outcomes: StepOutcome[] } {
  let state = initialImage({ type: 'scratch', platform: parsePlatform('linux/amd64') });
  const outcomes: StepOutcome[] = [];
  for (const step of stepsOf(text, opts)) {
    const out = applyStep(state, step);
    outcomes.push(out);
    state = out.state;
  }
  return { state, outcomes };
}

test('HEALTHCHECK history: durations through Duration.String, Retries as a quoted rune (docker 20.10.24)', () => {
  const { state, outcomes } = applyAll('FROM scratch\nHEALTHCHECK --start-period=1m30s --interval=1500ms --retries=65 CMD ["/bin/check", "a b"]\n');
  // docker: HEALTHCHECK &{["CMD" "/bin/check" "a b"] "1.5s" "0s" "1m30s" 'A'}
  assert.equal(outcomes[0]?.history?.created_by, `HEALTHCHECK &{["CMD" "/bin/check" "a b"] "1.5s" "0s" "1m30s" 'A'}`);
  assert.deepEqual(finishImage(state).config.Healthcheck, { Test: ['CMD', '/bin/check', 'a b'], Interval: 1500000000, StartPeriod: 90000000000, Retries: 65 });
});

test('CMD sets ArgsEscaped even in JSON form; ENTRYPOINT keeps a Cmd set in the same stage (docker 20.10.24)', () => {
  const { state } = applyAll('FROM scratch\nCMD ["a"]\nENTRYPOINT ["b"]\n');
  const c = finishImage(state).config;
  assert.deepEqual([c.Cmd, c.Entrypoint, c.ArgsEscaped], [['a'], ['b'], true]);
  const reset = finishImage(applyAll('FROM scratch\nENTRYPOINT ["b"]\n').state).config;
  assert.equal(reset.ArgsEscaped, undefined);
});

test('a relative WORKDIR on an image without one is taken from /; the RUN and COPY use it', () => {
  const b = build('FROM helpera/busybox:1\nWORKDIR rel\nRUN pwd\nCOPY x sub/\n', [
    [D('01'.repeat(32)), T('11:00:00')],
    [D('02'.repeat(32)), T('11:00:01')],
    [D('03'.repeat(32)), T('11:00:02')],
  ]);
  assert.deepEqual(createdBy(b).slice(1), ['WORKDIR /rel', 'RUN /bin/sh -c pwd # buildkit', 'COPY x sub/ # buildkit']);
  const outs = b.outcomes.get(0) as StepOutcome[];
  assert.ok(outs[1]?.action?.kind === 'run');
  assert.equal(outs[1].action.cwd, '/rel');
  assert.deepEqual(outs[2]?.action, { kind: 'copy', dest: '/rel/sub/', unpack: false });
});

test('WORKDIR makes its directory as the USER in effect', () => {
  const { outcomes } = applyAll('FROM scratch\nUSER 1000\nWORKDIR /home/app\n');
  assert.deepEqual(outcomes[1]?.action, { kind: 'mkdir', path: '/home/app', mode: 0o755, user: '1000' });
});

test('copyDestination: absolute, relative, directory forms', () => {
  const state = applyAll('FROM scratch\nWORKDIR /app\n').state;
  assert.equal(copyDestination(state, '/x/y'), '/x/y');
  assert.equal(copyDestination(state, 'x/../y'), '/app/y');
  assert.equal(copyDestination(state, '.'), '/app/');
  assert.equal(copyDestination(state, 'd/'), '/app/d/');
  assert.equal(copyDestination(initialImage({ type: 'scratch', platform: parsePlatform('linux/amd64') }), 'f'), '/f');
});

test('runArgv and runEnvironment: shell form in the SHELL, JSON form as written, PATH added when the image has none', () => {
  const { state } = applyAll('FROM scratch\nSHELL ["/bin/bash", "-c"]\n');
  const [shellRun, jsonRun] = stepsOf('FROM scratch\nRUN echo  a   b\nRUN ["x", "y"]\n') as [RunStep, RunStep];
  assert.deepEqual(runArgv(state, shellRun), ['/bin/bash', '-c', 'echo  a   b']);
  assert.deepEqual(runArgv(state, jsonRun), ['x', 'y']);
  const bare = { ...state, env: [] as Array<[string, string]> };
  assert.deepEqual(runEnvironment(bare, { proxyEnv: { NO_PROXY: 'localhost', https_proxy: 'h' } }), [
    'HTTPS_PROXY=h',
    'https_proxy=h',
    'NO_PROXY=localhost',
    'no_proxy=localhost',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  ]);
});

test('a stage built on a stage inherits config and environment but not the ARG list or the CMD flag', () => {
  const b = build('FROM scratch AS a\nARG V=1\nCMD ["x"]\nFROM a\nRUN true\nENTRYPOINT ["e"]\n', [[D('04'.repeat(32)), T('12:00:00')]]);
  const outs = b.outcomes.get(1) as StepOutcome[];
  assert.equal(outs[0]?.history?.created_by, 'RUN /bin/sh -c true # buildkit');
  assert.ok(outs[0]?.action?.kind === 'run');
  assert.ok(outs[0].action.env.includes('V=1'));
  assert.equal(b.image.config.Cmd, undefined);
});

// ---- finishing

test('SOURCE_DATE_EPOCH: created and every new history entry get the epoch; base entries keep theirs', () => {
  const b = build('FROM helpera/busybox:1\nENV A=1\nRUN true\n', [[D('05'.repeat(32)), T('13:00:00')]], { finish: { sourceDateEpoch: 1700000000 } });
  assert.equal(b.image.created, '2023-11-14T22:13:20Z');
  assert.deepEqual(
    (b.image.history ?? []).map((h) => h.created),
    ['2026-12-05T09:58:26.705396129Z', '2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z'],
  );
  assert.throws(() => finishImage(b.states.get(0) as ImageState, { sourceDateEpoch: 1.5 }), InvalidArgumentError);
});

test('finishImage refuses a layer-making step without its layer; recordLayer refuses a layer too many', () => {
  const { state } = applyAll('FROM scratch\nWORKDIR /a\n');
  assert.throws(() => finishImage(state), InvalidArgumentError);
  const done = recordLayer(state, { diffId: D('06'.repeat(32)), created: T('14:00:00') });
  assert.deepEqual(finishImage(done).rootfs.diff_ids, [D('06'.repeat(32))]);
  assert.throws(() => recordLayer(done, { diffId: D('07'.repeat(32)), created: T('14:00:01') }), InvalidArgumentError);
});

test('a base whose history claims fewer layers than it has: the exporter appends an entry (moby exporter source, not reproduced with docker)', () => {
  const config = JSON.parse(RAW_BUSYBOX) as ImageConfig;
  config.history = [];
  const image = finishImage(initialImage({ type: 'image', config }));
  assert.deepEqual(image.history, [{ created_by: 'created by buildkit', comment: 'buildkit.exporter.image.v0' }]);
  config.history = [{ created: T('15:00:00') }, { created: T('15:00:01'), created_by: 'extra' }];
  const trimmed = finishImage(initialImage({ type: 'image', config }));
  assert.deepEqual(trimmed.history?.[1], { created: T('15:00:01'), created_by: 'extra', empty_layer: true });
});

test('initialImage does not change the state it is given, applyStep neither', () => {
  const start = initialImage({ type: 'scratch', platform: parsePlatform('linux/amd64') });
  const snapshot = structuredClone(start);
  const [env] = stepsOf('FROM scratch\nENV A=1\n') as [Step];
  applyStep(start, env);
  initialImage({ type: 'stage', state: start });
  assert.deepEqual(start, snapshot);
});

// ---- Go formatting

test('goDuration follows Go time.Duration.String', () => {
  assert.deepEqual(
    [0, 999, 1500, 1_000_000, 1_500_000_000, 90_000_000_000, 3_600_000_000_000, 3_723_500_000_000, -2_000_000_000].map(goDuration),
    ['0s', '999ns', '1.5µs', '1ms', '1.5s', '1m30s', '1h0m0s', '1h2m3.5s', '-2s'],
  );
});

test("goQuoteRune follows Go's %q of an int", () => {
  assert.deepEqual([0, 3, 65, 39, 34, 92, 233, 0x7f, 0x110000, 0xd800].map(goQuoteRune), [
    "'\\x00'",
    "'\\x03'",
    "'A'",
    "'\\''",
    `'"'`,
    "'\\\\'",
    "'é'",
    "'\\x7f'",
    "'�'",
    "'�'",
  ]);
});

test('goTime writes a time as Go re-marshals it', () => {
  assert.equal(goTime('2026-12-05T09:58:26.705396100Z'), '2026-12-05T09:58:26.7053961Z');
  assert.equal(goTime('2026-12-05T09:58:26.000Z'), '2026-12-05T09:58:26Z');
  assert.equal(goTime('2026-12-05T09:58:26+00:00'), '2026-12-05T09:58:26Z');
  assert.equal(goTime('2026-12-05T09:58:26.5+02:00'), '2026-12-05T09:58:26.5+02:00');
});

test('ARG history shows its default expanded, even when a build arg overrides it; CMD [] leaves no Cmd but ArgsEscaped (docker 20.10.24)', () => {
  const { state, outcomes } = applyAll('FROM scratch\nENV Y=why\nARG X=$Y-x\nENV B=$Y\nCMD []\nLABEL l=$X\n', { buildArgs: { X: 'over' } });
  assert.deepEqual(
    outcomes.map((o) => o.history?.created_by),
    ['ENV Y=why', 'ARG X=why-x', 'ENV B=why', 'CMD []', 'LABEL l=over'],
  );
  const c = finishImage(state).config;
  assert.deepEqual([c.Cmd, c.ArgsEscaped, c.Labels], [undefined, true, { l: 'over' }]);
});
