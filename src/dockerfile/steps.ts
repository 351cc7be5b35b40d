/**
 * The steps of a plan stage: each instruction after ARG scoping and variable expansion,
 * validated, with COPY --from and RUN --mount from= resolved to a stage or an image.
 * Plain JSON-serialisable data.
 */
import type { Heredoc } from './ast.js';
import type { LineRange } from './errors.js';
import type { HealthcheckConfig, HeredocSource, RunMount } from './instructions.js';

/** Where a stage starts from. */
export type StageBase =
  | { type: 'scratch' }
  /** `ref` as written after expansion; `normalized` in full form (docker.io/library/x:latest). */
  | { type: 'image'; ref: string; normalized: string }
  | { type: 'stage'; stage: number };

/** Where a COPY --from or a mount reads from. */
export type StageSource = { stage: number } | { image: string };

export interface StepBase {
  /** Upper-case instruction name. */
  instruction: string;
  lines: LineRange;
  /** Instruction text as written. */
  original: string;
  /** true for an ONBUILD trigger inherited from the base stage and run here. */
  onbuild?: boolean;
}

export interface RunStep extends StepBase {
  instruction: 'RUN';
  /** Shell form: `[commandLine]`; JSON form: argv. Not expanded: the shell does that. */
  command: string[];
  shell: boolean;
  heredocs: Heredoc[];
  mounts: PlanMount[];
  network?: string;
  security?: string;
  /**
   * ARG values the command sees as environment variables but that are not stored in the
   * image config (BuildKit adds ARGs to the run environment; ENV set later wins).
   */
  args: Array<[string, string]>;
}

export interface PlanMount extends RunMount {
  /** Resolved `from=`: an earlier stage, or an image. */
  fromSource?: StageSource;
}

export interface CommandStep extends StepBase {
  instruction: 'CMD' | 'ENTRYPOINT';
  command: string[];
  shell: boolean;
}

export interface ShellStep extends StepBase {
  instruction: 'SHELL';
  shell: string[];
}

export interface CopyStep extends StepBase {
  instruction: 'COPY' | 'ADD';
  sources: string[];
  heredocs: HeredocSource[];
  dest: string;
  /** COPY --from, resolved. */
  from?: StageSource;
  chown?: string;
  chmod?: string;
  /** Numeric mode when --chmod was octal. */
  mode?: number;
  link: boolean;
  parents?: boolean;
  exclude: string[];
  checksum?: string;
  keepGitDir?: boolean;
  unpack?: boolean;
}

export interface KeyValueStep extends StepBase {
  instruction: 'ENV' | 'LABEL';
  pairs: Array<[string, string]>;
}

export interface ArgStep extends StepBase {
  instruction: 'ARG';
  /**
   * Resolved values; `value` undefined when the ARG has none. `default` is the default as
   * written, expanded (what the image history shows, even when a build arg overrides it).
   */
  args: Array<{ name: string; value?: string; default?: string }>;
}

export interface ValueStep extends StepBase {
  instruction: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER' | 'ONBUILD';
  value: string;
}

export interface ListStep extends StepBase {
  instruction: 'VOLUME' | 'EXPOSE';
  /** VOLUME paths, or EXPOSE ports normalised to `port/proto`. */
  values: string[];
}

export interface HealthcheckStep extends StepBase, HealthcheckConfig {
  instruction: 'HEALTHCHECK';
}

export type Step = RunStep | CommandStep | ShellStep | CopyStep | KeyValueStep | ArgStep | ValueStep | ListStep | HealthcheckStep;
