/**
 * The cairn command line: a thin shell over the library. It parses Docker-style commands and
 * flags, opens the store, calls one library function and renders its result. Command modules
 * are imported lazily so that `cairn --version` and `cairn images` start fast.
 *
 * Exit codes as Docker's CLI: 0 success, 1 a failed operation, 125 bad usage.
 */
import { Command, CommanderError, Option } from 'commander';
import { CairnError, errorLine } from '../errors.js';
import { VERSION } from './version.js';
import { flagError } from './context.js';
import { parseGoBool } from '../container/units.js';
import { goQuote } from '../template/fmt.js';
import type { DriverName } from '../snapshot/types.js';

export interface GlobalOptions {
  root?: string;
  storageDriver?: DriverName;
  storageOpt: string[];
  debug?: boolean;
}

/** A command module's entry: positional arguments arrive as commander parsed them. */
type Action = (program: Command, cmd: Command, ...args: never[]) => Promise<void>;

/** Wrap a lazily imported action: import the module only when the command runs. */
function lazy(load: () => Promise<{ run: Action }>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    let program: Command = cmd;
    while (program.parent) program = program.parent;
    const mod = await load();
    await mod.run(program, cmd, ...(args.slice(0, -1) as never[]));
  };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function imagesCommand(c: Command): Command {
  return c
    .description('List images')
    .usage('[OPTIONS] [REPOSITORY[:TAG]]')
    .argument('[repository]', 'show only images of this repository[:tag]')
    .option('-a, --all', 'show all images (default hides intermediate images)')
    .option('--digests', 'show digests')
    .option('-f, --filter <filter>', "filter output based on conditions provided (dangling=, reference=, before=, since=, label=)", collect, [])
    .option('--format <format>', "format output: 'table', 'json', or a Go template")
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image IDs')
    .action(lazy(() => import('./commands/images.js')));
}

function rmiCommand(c: Command): Command {
  return c
    .description('Remove one or more images')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<image...>')
    .option('-f, --force', 'force removal of the image')
    .option('--no-prune', 'do not delete untagged parents')
    .action(lazy(() => import('./commands/rmi.js')));
}

function inspectCommand(c: Command, withType = false, what: 'images' | 'containers' = 'images'): Command {
  c.description(withType ? 'Return low-level information on Docker objects' : `Display detailed information on one or more ${what}`)
    .usage(withType ? '[OPTIONS] NAME|ID [NAME|ID...]' : what === 'images' ? '[OPTIONS] IMAGE [IMAGE...]' : '[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<image...>')
    .option('-f, --format <format>', "format output: 'json' (default) or a Go template");
  if (withType || what === 'containers') c.option('-s, --size', 'display total file sizes if the type is container');
  if (withType) c.option('--type <type>', 'only objects of this type: image or container');
  return c.action(lazy(() => import('./commands/inspect.js')));
}

function historyCommand(c: Command): Command {
  return c
    .description('Show the history of an image')
    .usage('[OPTIONS] IMAGE')
    .argument('<image>')
    .option('--format <format>', "format output: 'table', 'json', or a Go template")
    .addOption(new Option('-H, --human <bool>', 'print sizes and dates in human readable format').default('true'))
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image IDs')
    .action(lazy(() => import('./commands/history.js')));
}

function tagCommand(c: Command): Command {
  return c
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .usage('SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]')
    .argument('<source>', 'SOURCE_IMAGE[:TAG]')
    .argument('<target>', 'TARGET_IMAGE[:TAG]')
    .action(lazy(() => import('./commands/tag.js')));
}

function importCommand(c: Command): Command {
  // Docker checks only the least count here (cobra's RequiresMinArgs(1)), and words it so
  ARITY_AS_DOCKER_SAYS.set(c, { min: 1, max: Infinity });
  return c
    .description('Import the contents from a tarball to create a filesystem image')
    .usage('[OPTIONS] file|URL|- [REPOSITORY[:TAG]]')
    .argument('<file>', 'a root filesystem tar (plain, gzip or zstd), or - for stdin')
    .argument('[reference]', 'REPOSITORY[:TAG]')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction to the created image', collect, [])
    .option('-m, --message <message>', 'set the commit message for the imported image')
    .option('--platform <platform>', 'set platform (os/arch[/variant])')
    .action(lazy(() => import('./commands/import.js')));
}

function saveCommand(c: Command): Command {
  return c
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<image...>')
    .option('-o, --output <file>', 'write to a file, instead of STDOUT')
    .addOption(new Option('--format <format>', 'archive format').choices(['docker-archive', 'oci-archive']).default('docker-archive'))
    .action(lazy(() => import('./commands/save.js')));
}

function loadCommand(c: Command): Command {
  return c
    .description('Load an image from a tar archive or STDIN')
    .usage('[OPTIONS]')
    .option('-i, --input <file>', 'read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'suppress the load output')
    .action(lazy(() => import('./commands/load.js')));
}

function pullCommand(c: Command): Command {
  return c
    .description('Pull an image or a repository from a registry')
    .usage('[OPTIONS] NAME[:TAG|@DIGEST]')
    .argument('<name>', 'NAME[:TAG|@DIGEST]')
    .option('-a, --all-tags', 'download all tagged images in the repository')
    .option('-q, --quiet', 'suppress verbose output')
    .option('--platform <platform>', 'set platform if server is multi-platform capable (os/arch[/variant])')
    .option('--max-concurrent-downloads <n>', 'layers downloaded and unpacked at once (default 3)')
    .option('--authfile <file>', 'path of the client configuration file with credentials (default: Docker\'s)')
    .addOption(new Option('--tls-verify <bool>', 'require https and verify certificates').argParser((v) => v !== 'false'))
    .action(lazy(() => import('./commands/pull.js')));
}

function pushCommand(c: Command): Command {
  return c
    .description('Push an image or a repository to a registry')
    .usage('[OPTIONS] NAME[:TAG]')
    .argument('<name>', 'NAME[:TAG]')
    .option('-a, --all-tags', 'push all tags of an image to the repository')
    .option('-q, --quiet', 'suppress verbose output')
    .option('--authfile <file>', 'path of the client configuration file with credentials (default: Docker\'s)')
    .addOption(new Option('--tls-verify <bool>', 'require https and verify certificates').argParser((v) => v !== 'false'))
    .option('--compression-format <format>', 'compression of layers stored uncompressed: gzip (default) or zstd')
    .option('--compression-level <level>', 'compression level of those layers (gzip: 0-9, default 3: ISA-L, fast; 4-9 zlib, smaller; zstd: -7..22, default 3)')
    .action(lazy(() => import('./commands/push.js')));
}

function loginCommand(c: Command): Command {
  return c
    .description('Log in to a Docker registry')
    .usage('[OPTIONS] [SERVER]')
    .argument('[server]', 'the registry (default: Docker Hub)')
    .option('-u, --username <username>', 'username')
    .option('-p, --password <password>', 'password')
    .option('--password-stdin', 'take the password from stdin')
    .option('--authfile <file>', 'path of the client configuration file to store the credentials in (default: Docker\'s)')
    .addOption(new Option('--tls-verify <bool>', 'require https and verify certificates').argParser((v) => v !== 'false'))
    .action(lazy(() => import('./commands/login.js')));
}

function logoutCommand(c: Command): Command {
  return c
    .description('Log out from a Docker registry')
    .usage('[SERVER]')
    .argument('[server]', 'the registry (default: Docker Hub)')
    .option('--authfile <file>', 'path of the client configuration file (default: Docker\'s)')
    .action(lazy(() => import('./commands/logout.js')));
}

/** `create`'s and `run`'s flags (Docker's names). */
function containerFlags(c: Command): Command {
  PASS_THROUGH.add(c);
  return c
    .helpOption('--help', 'display help for command')
    .passThroughOptions()
    .option('-a, --attach <stream>', 'attach to STDIN, STDOUT or STDERR', collect, [])
    .option('--cap-add <capability>', 'add Linux capabilities', collect, [])
    .option('--cap-drop <capability>', 'drop Linux capabilities', collect, [])
    .option('--cpus <number>', 'number of CPUs')
    .option('--entrypoint <command>', 'overwrite the default ENTRYPOINT of the image')
    .option('-e, --env <var>', 'set environment variables', collect, [])
    .option('--env-file <file>', 'read in a file of environment variables', collect, [])
    .option('--health-cmd <command>', 'command to run to check health')
    .option('--health-interval <duration>', 'time between running the check (ms|s|m|h)')
    .option('--health-retries <n>', 'consecutive failures needed to report unhealthy')
    .option('--health-start-period <duration>', 'start period for the container to initialize before starting health-retries countdown (ms|s|m|h)')
    .option('--health-timeout <duration>', 'maximum time to allow one check to run (ms|s|m|h)')
    .option('-h, --hostname <name>', 'container host name')
    .option('--init', 'run an init inside the container that forwards signals and reaps processes')
    .option('-i, --interactive', 'keep STDIN open even if not attached')
    .option('-l, --label <label>', 'set meta data on a container', collect, [])
    .option('--label-file <file>', 'read in a line delimited file of labels', collect, [])
    .option('-m, --memory <bytes>', 'memory limit')
    .option('--memory-swap <bytes>', "swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option('--mount <mount>', 'attach a filesystem mount to the container', collect, [])
    .option('--name <name>', 'assign a name to the container')
    .option('--network <network>', 'connect a container to a network (host, none)', collect, [])
    .option('--no-healthcheck', 'disable any container-specified HEALTHCHECK')
    .option('--pids-limit <n>', 'tune container pids limit (set -1 for unlimited)')
    .option('--platform <platform>', 'set platform if server is multi-platform capable')
    .option('--privileged', 'give extended privileges to this container')
    .option('--pull <policy>', 'pull image before running ("always"|"missing"|"never")', 'missing')
    .option('-q, --quiet', 'suppress the pull output')
    .option('--read-only', "mount the container's root filesystem as read only")
    .option('--restart <policy>', 'restart policy to apply when a container exits (cairn has no daemon: only "no")')
    .option('--rm', 'automatically remove the container when it exits')
    .option('--runtime <runtime>', 'runtime to use for this container (crun, runc)')
    .option('--security-opt <option>', 'security options', collect, [])
    .option('--stop-signal <signal>', 'signal to stop a container')
    .option('--stop-timeout <seconds>', 'timeout (in seconds) to stop a container')
    .option('--tmpfs <mount>', 'mount a tmpfs directory', collect, [])
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('--ulimit <ulimit>', 'ulimit options', collect, [])
    .option('-u, --user <user>', 'username or UID (format: <name|uid>[:<group|gid>])')
    .option('-v, --volume <volume>', 'bind mount a volume', collect, [])
    .option('--volumes-from <container>', 'mount volumes from the specified container(s)', collect, [])
    .option('--shm-size <bytes>', 'size of /dev/shm')
    .option('--detach-keys <keys>', 'override the key sequence for detaching a container')
    .option('-w, --workdir <dir>', 'working directory inside the container');
}

/**
 * The container commands, each at the top level and under `container`. With `only` (the
 * top-level word the arguments name): only what it needs — `run` builds `run` alone (its ~100
 * flags are ~2 ms of each start), `container` its subcommands.
 */
function containerCommands(program: Command, only: string | undefined): void {
  const container = only === undefined || only === 'container' ? program.command('container').description('Manage containers') : undefined;
  const both = (name: string, fn: (c: Command) => Command): void => {
    if (only === undefined || only === name) fn(program.command(name));
    if (container !== undefined) fn(container.command(name));
  };
  both('run', (c) =>
    containerFlags(c)
      .description('Run a command in a new container')
      .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
      .argument('<image>')
      .argument('[command...]')
      .option('-d, --detach', 'run container in background and print container ID')
      .option('--sig-proxy <bool>', 'proxy received signals to the process', 'true')
      .action(lazy(() => import('./commands/run.js'))),
  );
  both('create', (c) =>
    containerFlags(c)
      .description('Create a new container')
      .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
      .argument('<image>')
      .argument('[command...]')
      .action(lazy(() => import('./commands/create.js'))),
  );
  both('start', (c) =>
    c
      .description('Start one or more stopped containers')
      .usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .argument('<container...>')
      .option('-a, --attach', 'attach STDOUT/STDERR and forward signals')
      .option('-i, --interactive', "attach container's STDIN")
      .action(lazy(() => import('./commands/start.js'))),
  );
  both('stop', (c) =>
    c
      .description('Stop one or more running containers')
      .usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .argument('<container...>')
      .option('-t, --time <seconds>', 'seconds to wait for stop before killing it')
      .action(lazy(() => import('./commands/stop.js'))),
  );
  both('restart', (c) =>
    c
      .description('Restart one or more containers')
      .usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .argument('<container...>')
      .option('-t, --time <seconds>', 'seconds to wait for stop before killing the container (default 10)')
      .action(lazy(() => import('./commands/restart.js'))),
  );
  both('kill', (c) =>
    c
      .description('Kill one or more running containers')
      .usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .argument('<container...>')
      .option('-s, --signal <signal>', 'signal to send to the container', 'KILL')
      .action(lazy(() => import('./commands/kill.js'))),
  );
  both('exec', (c) => {
    PASS_THROUGH.add(c);
    return c
      .description('Run a command in a running container')
      .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
      .passThroughOptions()
      .argument('<container>')
      .argument('<command...>')
      .option('-d, --detach', 'detached mode: run command in the background')
      .option('-e, --env <var>', 'set environment variables', collect, [])
      .option('--env-file <file>', 'read in a file of environment variables', collect, [])
      .option('-i, --interactive', 'keep STDIN open even if not attached')
      .option('--privileged', 'give extended privileges to the command')
      .option('-t, --tty', 'allocate a pseudo-TTY')
      .option('-u, --user <user>', 'username or UID (format: <name|uid>[:<group|gid>])')
      .option('-w, --workdir <dir>', 'working directory inside the container')
      .action(lazy(() => import('./commands/exec.js')));
  });
  both('pause', (c) =>
    c
      .description('Pause all processes within one or more containers')
      .usage('CONTAINER [CONTAINER...]')
      .argument('<container...>')
      .action(lazy(() => import('./commands/pause.js'))),
  );
  both('unpause', (c) =>
    c
      .description('Unpause all processes within one or more containers')
      .usage('CONTAINER [CONTAINER...]')
      .argument('<container...>')
      .action(lazy(() => import('./commands/unpause.js'))),
  );
  both('rename', (c) =>
    c
      .description('Rename a container')
      .usage('CONTAINER NEW_NAME')
      .argument('<container>')
      .argument('<name>')
      .action(lazy(() => import('./commands/rename.js'))),
  );
  both('top', (c) => {
    PASS_THROUGH.add(c);
    return c
      .description('Display the running processes of a container')
      .usage('CONTAINER [ps OPTIONS]')
      .passThroughOptions()
      .argument('<container>')
      .argument('[options...]')
      .action(lazy(() => import('./commands/top.js')));
  });
  both('port', (c) =>
    c
      .description('List port mappings or a specific mapping for the container')
      .usage('CONTAINER [PRIVATE_PORT[/PROTO]]')
      .argument('<container>')
      .argument('[port]')
      .action(lazy(() => import('./commands/port.js'))),
  );
  both('logs', (c) =>
    c
      .description('Fetch the logs of a container')
      .usage('[OPTIONS] CONTAINER')
      .argument('<container>')
      .option('--details', 'show extra details provided to logs')
      .option('-f, --follow', 'follow log output')
      .option('--since <time>', 'show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)')
      .option('-n, --tail <lines>', 'number of lines to show from the end of the logs', 'all')
      .option('-t, --timestamps', 'show timestamps')
      .option('--until <time>', 'show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)')
      .action(lazy(() => import('./commands/logs.js'))),
  );
  both('attach', (c) =>
    c
      .description('Attach local standard input, output, and error streams to a running container')
      .usage('[OPTIONS] CONTAINER')
      .argument('<container>')
      .option('--detach-keys <keys>', 'override the key sequence for detaching a container')
      .option('--no-stdin', 'do not attach STDIN')
      .option('--sig-proxy <bool>', 'proxy all received signals to the process', 'true')
      .action(lazy(() => import('./commands/attach.js'))),
  );
  container
    ?.command('cleanup', { hidden: true })
    .description("Record a container's exit and clean up after it (conmon's exit command)")
    .argument('<id>')
    .action(lazy(() => import('./commands/cleanup.js')));
  both('commit', (c) => {
    BOOL_FLAGS.set(c, [{ short: '-p', long: '--pause' }]);
    return c
      .description("Create a new image from a container's changes")
      .usage('[OPTIONS] CONTAINER [REPOSITORY[:TAG]]')
      .argument('<container>')
      .argument('[reference]')
      .option('-a, --author <author>', 'author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
      .option('-c, --change <instruction>', 'apply Dockerfile instruction to the created image', collect, [])
      .option('-m, --message <message>', 'commit message')
      .option('-p, --pause <bool>', 'pause container during commit (default true)', 'true')
      .action(lazy(() => import('./commands/commit.js')));
  });
  both('diff', (c) =>
    c
      .description("Inspect changes to files or directories on a container's filesystem")
      .usage('CONTAINER')
      .argument('<container>')
      .action(lazy(() => import('./commands/diff.js'))),
  );
  both('export', (c) =>
    c
      .description("Export a container's filesystem as a tar archive")
      .usage('[OPTIONS] CONTAINER')
      .argument('<container>')
      .option('-o, --output <file>', 'write to a file, instead of STDOUT')
      .action(lazy(() => import('./commands/export.js'))),
  );
  both('cp', (c) =>
    c
      .description('Copy files/folders between a container and the local filesystem')
      .usage('[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tcairn cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH')
      .argument('<src>')
      .argument('<dest>')
      .option('-a, --archive', 'archive mode (copy all uid/gid information)')
      .option('-L, --follow-link', 'always follow symbol link in SRC_PATH')
      .action(lazy(() => import('./commands/cp.js'))),
  );
  both('stats', (c) =>
    c
      .description('Display a live stream of container(s) resource usage statistics')
      .usage('[OPTIONS] [CONTAINER...]')
      .argument('[container...]')
      .option('-a, --all', 'show all containers (default shows just running)')
      .option('--format <format>', "format output: 'table', 'json', or a Go template")
      .option('--no-stream', 'disable streaming stats and only pull the first result')
      .option('--no-trunc', 'do not truncate output')
      .action(lazy(() => import('./commands/stats.js'))),
  );
  both('wait', (c) =>
    c
      .description('Block until one or more containers stop, then print their exit codes')
      .usage('CONTAINER [CONTAINER...]')
      .argument('<container...>')
      .action(lazy(() => import('./commands/wait.js'))),
  );
  const rm = (c: Command): Command =>
    c
      .description('Remove one or more containers')
      .usage('[OPTIONS] CONTAINER [CONTAINER...]')
      .argument('<container...>')
      .option('-f, --force', 'force the removal of a running container (uses SIGKILL)')
      .option('-v, --volumes', 'remove anonymous volumes associated with the container')
      .action(lazy(() => import('./commands/rm.js')));
  if (only === undefined || only === 'rm') rm(program.command('rm'));
  if (container !== undefined) rm(container.command('rm').alias('remove'));
  const ps = (c: Command): Command =>
    c
      .description('List containers')
      .usage('[OPTIONS]')
      .option('-a, --all', 'show all containers (default shows just running)')
      .option('-f, --filter <filter>', 'filter output based on conditions provided', collect, [])
      .option('--format <format>', "format output: 'table', 'json', or a Go template")
      .option('-n, --last <n>', 'show n last created containers (includes all states)')
      .option('-l, --latest', 'show the latest created container (includes all states)')
      .option('--no-trunc', "don't truncate output")
      .option('-q, --quiet', 'only display container IDs')
      .option('-s, --size', 'display total file sizes')
      .action(lazy(() => import('./commands/ps.js')));
  if (only === undefined || only === 'ps') ps(program.command('ps'));
  if (container !== undefined) {
    ps(container.command('ls').alias('list').alias('ps'));
    inspectCommand(container.command('inspect'), false, 'containers');
    pruneCommands.container(container.command('prune'));
  }
}

/** `volume create|ls|inspect|rm|prune`, with Docker's usage lines and (short) descriptions. */
function volumeCommands(volume: Command): void {
  volume
    .command('create')
    .description('Create a volume')
    .usage('[OPTIONS] [VOLUME]')
    .argument('[volume]')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <label>', 'Set metadata for a volume', collect, [])
    .option('-o, --opt <option>', 'Set driver specific options', collect, [])
    .addOption(new Option('--name <name>', 'Specify volume name').hideHelp())
    .action(lazy(() => import('./commands/volume-create.js')));
  volume
    .command('ls')
    .alias('list')
    .description('List volumes')
    .usage('[OPTIONS]')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'dangling=true')", collect, [])
    .option('--format <string>', "Pretty-print volumes using a Go template, or 'json'")
    .option('-q, --quiet', 'Only display volume names')
    .action(lazy(() => import('./commands/volume-ls.js')));
  volume
    .command('inspect')
    .description('Display detailed information on one or more volumes')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<volume...>')
    .option('-f, --format <string>', 'Format the output using the given Go template')
    .action(lazy(() => import('./commands/volume-inspect.js')));
  volume
    .command('rm')
    .alias('remove')
    .description('Remove one or more volumes')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<volume...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(lazy(() => import('./commands/volume-rm.js')));
  volume
    .command('prune')
    .description('Remove all unused local volumes')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <filter>', "Provide filter values (e.g. 'label=<label>')", collect, [])
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(lazy(() => import('./commands/volume-prune.js')));
}

/** `system df`, with Docker's usage line and flags; `system check`, podman's. */
function systemCommands(system: Command): void {
  system
    .command('df')
    .description('Show docker disk usage')
    .usage('[OPTIONS]')
    .option('--format <string>', "Pretty-print images using a Go template, or 'json'")
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(lazy(() => import('./commands/system-df.js')));
  system
    .command('check')
    .description('Check the store for problems (every blob re-hashed, every layer re-emitted), and repair what is safe to repair')
    .usage('[OPTIONS]')
    .option('--repair', 'remove leftovers and what nothing uses, re-derive what can be, mark images whose content is damaged (never removed)')
    .option('--quick', 'check the structure only: no blob re-hashed, no layer re-emitted')
    .option('--format <format>', "format output: 'json'")
    .action(lazy(() => import('./commands/system-check.js')));
  pruneCommands.system(system.command('prune'));
}

/** The top-level names `containerCommands` registers (besides `container`). */
const CONTAINER_TOP = ['run', 'create', 'start', 'stop', 'restart', 'kill', 'pause', 'unpause', 'rm', 'ps', 'exec', 'logs', 'attach', 'wait', 'rename', 'top', 'port', 'stats', 'commit', 'diff', 'cp', 'export'];

/** Every top-level command name. */
const TOP_LEVEL = new Set(['images', 'tag', 'rmi', 'inspect', 'history', 'import', 'save', 'load', 'pull', 'push', 'login', 'logout', 'image', 'container', ...CONTAINER_TOP, 'healthcheck', 'volume', 'registry', 'version', 'info', 'build', 'builder', 'system']);

/** The top-level command `argv` names (past the global options), if it is one of cairn's. */
export function topLevelCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root' || a === '--storage-driver' || a === '--storage-opt') i++;
    else if (a.startsWith('-')) continue;
    else return TOP_LEVEL.has(a) ? a : undefined;
  }
  return undefined;
}

/**
 * The command line. With `only` (the top-level command the arguments name), only that
 * command's part is registered: building every command with its options costs ~4 ms of each
 * start-up; help, an unknown name or no command build them all.
 */
export function buildProgram(only?: string): Command {
  const want = (...names: string[]): boolean => only === undefined || names.includes(only);
  const program = new Command('cairn')
    .description('A daemonless container image and layer engine')
    .usage('[OPTIONS] COMMAND')
    .option('--root <dir>', 'root directory of the store (default: $CAIRN_ROOT, /var/lib/cairn for root)')
    .option('--storage-driver <driver>', 'storage driver (overlay, native)')
    .option('--storage-opt <option>', 'storage option, recorded in the store: compressed-blobs=keep|drop', collect, [])
    .option('-D, --debug', 'print stack traces of errors')
    .version(VERSION, '-v, --version', 'print version information and quit')
    .showSuggestionAfterError(true)
    .enablePositionalOptions(true);

  if (want('images')) imagesCommand(program.command('images'));
  if (want('tag')) tagCommand(program.command('tag'));
  if (want('rmi')) rmiCommand(program.command('rmi'));
  if (want('inspect')) inspectCommand(program.command('inspect'), true);
  if (want('history')) historyCommand(program.command('history'));
  if (want('import')) importCommand(program.command('import'));
  if (want('save')) saveCommand(program.command('save'));
  if (want('load')) loadCommand(program.command('load'));
  if (want('pull')) pullCommand(program.command('pull'));
  if (want('push')) pushCommand(program.command('push'));
  if (want('login')) loginCommand(program.command('login'));
  if (want('logout')) logoutCommand(program.command('logout'));

  if (want('image')) imageCommands(program.command('image').description('Manage images'));
  if (want('container', ...CONTAINER_TOP)) containerCommands(program, only);
  if (want('healthcheck')) healthcheckCommands(program.command('healthcheck').description('Manage health checks of containers'));
  if (want('volume')) volumeCommands(program.command('volume').description('Manage volumes').usage('COMMAND'));
  if (want('registry')) registryCommands(program.command('registry').description('Serve this store as a registry'));
  if (want('builder')) pruneCommands.builder(program.command('builder').description('Manage builds').usage('COMMAND').command('prune'));
  if (want('system')) systemCommands(program.command('system').description('Manage the store').usage('COMMAND'));
  if (want('version'))
    program
      .command('version')
      .description('Show the cairn version information')
      .option('-f, --format <format>', "format output: 'json' or a Go template")
      .action(lazy(() => import('./commands/version.js')));
  if (want('info'))
    program
      .command('info')
      .description('Display system-wide information')
      .option('-f, --format <format>', "format output: 'json' or a Go template")
      .action(lazy(() => import('./commands/info.js')));
  if (want('build'))
    program
      .command('build')
      .description('Build an image from a Dockerfile')
      .usage('[OPTIONS] PATH | -')
      .argument('<context>', "build context directory, or '-': a tar archive of the context (or a Dockerfile) on stdin")
      .option('-t, --tag <name>', "name and optionally a tag in the 'name:tag' format", collect, [])
      .option('-f, --file <file>', "name of the Dockerfile (default: 'PATH/Dockerfile'; '-': stdin)")
      .option('-o, --output <output>', 'output destination (format: "type=local,dest=path"; types local, tar, docker, oci, image, cacheonly)', collect, [])
      .option('--build-context <name=value>', 'additional build contexts (e.g., name=path or name=docker-image://ref)', collect, [])
      .option('--platform <platform>', 'set the target platform for the build (only the host\'s can RUN)')
      .option('--build-arg <arg>', 'set build-time variables', collect, [])
      .option('--target <stage>', 'set the target build stage to build')
      .option('--label <label>', 'set metadata for an image', collect, [])
      .option('--iidfile <file>', 'write the image ID to the file')
      .option('--network <mode>', "set the networking mode for the RUN instructions during build: 'default', 'host' or 'none'", 'default')
      .option('--secret <secret>', 'secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=mysecret,env=VAR")', collect, [])
      .option('--no-cache', 'do not use cache when building the image')
      .option('--no-cache-filter <stage>', 'do not cache the specified stages', collect, [])
      .option('--explain-cache', 'say, for every step that ran, what differed from its closest cached result')
      .option('--cache-to <spec>', 'cache export destination (type=local,dest=DIR[,mode=min|max] or type=registry,ref=REF[,mode=min|max])', collect, [])
      .option('--cache-from <spec>', 'cache import source (type=local,src=DIR or type=registry,ref=REF)', collect, [])
      .option('--pull', 'always attempt to pull a newer version of the image')
      .option('--squash', 'squash the layers the build adds into one new layer')
      .option('-q, --quiet', 'suppress the build output and print image ID on success')
      .option('--progress <type>', "set type of progress output: 'auto', 'plain', 'tty' or 'quiet'", 'auto')
      .option('--check', 'run the build checks and print findings, without building')
      .option('--format <format>', "output format for --check: 'json' or text")
      .action(lazy(() => import('./commands/build.js')));

  for (const c of [program, ...allCommands(program)]) {
    c.exitOverride();
    c.configureOutput({ writeErr: () => {}, outputError: () => {} });
  }
  return program;
}

function imageCommands(image: Command): void {
  imagesCommand(image.command('ls').alias('list'));
  rmiCommand(image.command('rm').alias('remove'));
  inspectCommand(image.command('inspect'));
  historyCommand(image.command('history'));
  tagCommand(image.command('tag'));
  importCommand(image.command('import'));
  saveCommand(image.command('save'));
  loadCommand(image.command('load'));
  pullCommand(image.command('pull'));
  pushCommand(image.command('push'));
  image
    .command('mount')
    .description("Mount an image's root file system read-only and print where (no argument: list mounted images)")
    .argument('[image...]')
    .option('--format <format>', "format output: 'json', or a Go template")
    .action(lazy(() => import('./commands/mount.js')));
  image
    .command('squash')
    .description('Merge the layers of an image (all, or those above the bottom N) into one layer, as a new image')
    .argument('<image>')
    .option('--from <n>', 'keep the bottom N layers as they are', '0')
    .option('-t, --tag <name>', 'name the squashed image (default: the name given, moved to it)')
    .action(lazy(() => import('./commands/squash.js')));
  image
    .command('umount')
    .alias('unmount')
    .description("Unmount an image's root file system")
    .argument('[image...]')
    .option('-a, --all', 'unmount all mounted images')
    .option('-f, --force', 'unmount even if mounted several times')
    .action(lazy(() => import('./commands/umount.js')));
  pruneCommands.image(image.command('prune'));
}

/** The prune commands (`image prune`, `container prune`, `builder prune`, `system prune`; `volume prune` is with the volume commands). */
const pruneCommands = {
  image: (c: Command): Command =>
    c
      .description('Remove unused images')
      .usage('[OPTIONS]')
      .option('-a, --all', 'Remove all unused images, not just dangling ones')
      .option('--filter <filter>', "Provide filter values (e.g. 'until=<timestamp>')", collect, [])
      .option('-f, --force', 'Do not prompt for confirmation')
      .action(lazy(() => import('./commands/image-prune.js'))),
  container: (c: Command): Command =>
    c
      .description('Remove all stopped containers')
      .usage('[OPTIONS]')
      .option('--filter <filter>', "Provide filter values (e.g. 'until=<timestamp>')", collect, [])
      .option('-f, --force', 'Do not prompt for confirmation')
      .action(lazy(() => import('./commands/container-prune.js'))),
  builder: (c: Command): Command =>
    c
      .description('Remove build cache')
      .usage('[OPTIONS]')
      .option('-a, --all', 'Remove all unused build cache, not just dangling ones')
      .option('--filter <filter>', "Provide filter values (e.g. 'until=24h')", collect, [])
      .option('-f, --force', 'Do not prompt for confirmation')
      .option('--keep-storage <bytes>', 'Amount of disk space to keep for cache')
      .action(lazy(() => import('./commands/builder-prune.js'))),
  system: (c: Command): Command =>
    c
      .description('Remove unused data')
      .usage('[OPTIONS]')
      .option('-a, --all', 'Remove all unused images not just dangling ones')
      .option('--filter <filter>', "Provide filter values (e.g. 'label=<key>=<value>')", collect, [])
      .option('-f, --force', 'Do not prompt for confirmation')
      .option('--volumes', 'Prune anonymous volumes')
      .action(lazy(() => import('./commands/system-prune.js'))),
};

function healthcheckCommands(healthcheck: Command): void {
  healthcheck
    .command('run')
    .description("Run a container's health check once (cairn has no daemon to schedule it)")
    .usage('CONTAINER')
    .argument('<container>')
    .action(lazy(() => import('./commands/healthcheck.js')));
}

function registryCommands(registry: Command): void {
  registry
    .command('serve')
    .description('Serve the store\'s repositories over the OCI distribution API (the Docker registry API v2)')
    .option('--addr <host:port>', 'where to listen', '127.0.0.1:5000')
    .option('--read-only', 'refuse pushes and deletes')
    .option('--htpasswd <file>', 'require basic auth by the users of this htpasswd file (bcrypt entries: htpasswd -B)')
    .option('--tls-cert <file>', 'serve https with this certificate (PEM)')
    .option('--tls-key <file>', 'and this private key (PEM)')
    .action(lazy(() => import('./commands/registry-serve.js')));
  registry
    .command('gc')
    .description('Remove blobs no served manifest references (linked more than an hour ago)')
    .option('--delete-untagged', 'also delete manifests no tag reaches')
    .action(lazy(() => import('./commands/registry-gc.js')));
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((s) => [s, ...allCommands(s)]);
}

/**
 * Docker's boolean flags that also take a value (`--pause=false`, `-p=0`): given alone they
 * mean true and never take the next word. Declared to commander with a value; written here
 * `--long=VALUE`, so that `-p CONTAINER` stays a flag and a name.
 */
const BOOL_FLAGS = new WeakMap<Command, Array<{ short: string; long: string }>>();

/** Commands whose first argument ends their options: what follows is the container's command (`run IMAGE CMD...`). */
const PASS_THROUGH = new WeakSet<Command>();

/**
 * The command line as commander should read it, written from Docker's (pflag's) forms, up to
 * where a command's own arguments begin (`run IMAGE --rm=false` keeps the container's words):
 * `-H=false` becomes `-H false`; a boolean flag given `=VALUE` becomes the flag (true) or
 * nothing (false), a value that is not Go's bool the flag parser's error; a BOOL_FLAGS flag
 * given alone becomes `--long=true`.
 */
function dockerArgv(program: Command, argv: string[]): string[] {
  let cmd: Command = program;
  const out: string[] = [];
  let i = 0;
  // the global options and the command's words
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root' || a === '--storage-driver' || a === '--storage-opt') {
      out.push(a, ...(i + 1 < argv.length ? [argv[++i]!] : []));
      continue;
    }
    if (a.startsWith('-')) {
      // the program's own flags come before the command; after it, the command's
      if (cmd !== program) break;
      out.push(a);
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    cmd = sub;
    out.push(a);
  }
  const valueFlags = BOOL_FLAGS.get(cmd) ?? [];
  const options = [...cmd.options, ...program.options];
  const find = (name: string): Option | undefined => options.find((o) => o.long === name || o.short === name);
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (PASS_THROUGH.has(cmd)) {
        out.push(...argv.slice(i));
        break;
      }
      out.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    const value = eq < 0 ? undefined : a.slice(eq + 1);
    const special = valueFlags.find((f) => f.short === name || f.long === name);
    if (special !== undefined) {
      out.push(`${special.long}=${value ?? 'true'}`);
      continue;
    }
    const opt = find(name);
    if (opt !== undefined && value !== undefined && !opt.required && !opt.optional) {
      const b = parseGoBool(value);
      if (b === undefined) throw flagError(cmd, opt.flags, value, `strconv.ParseBool: parsing ${goQuote(value)}: invalid syntax`);
      if (b) out.push(opt.long ?? name);
      continue;
    }
    if (value !== undefined && /^-[A-Za-z]$/.test(name)) out.push(name, value);
    else out.push(a);
    // a flag that takes a value takes the next word
    if (opt !== undefined && value === undefined && opt.required && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

function commandPath(argv: string[]): string {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a === '--root' || a === '--storage-driver') i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  return ['cairn', ...words.slice(0, ['image', 'volume', 'container', 'builder', 'system'].includes(words[0] ?? '') ? 2 : 1)].join(' ');
}

/** Commands whose argument count Docker words otherwise than their arguments say (see argumentCountError). */
const ARITY_AS_DOCKER_SAYS = new WeakMap<Command, { min: number; max: number }>();

/** The (sub)command the words of `argv` name, past the global options. */
function commandOf(program: Command, argv: string[]): Command | undefined {
  let cmd: Command = program;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root' || a === '--storage-driver' || a === '--storage-opt') i++;
    else if (a.startsWith('-')) continue;
    else {
      const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
      if (!sub) break;
      cmd = sub;
    }
  }
  return cmd === program ? undefined : cmd;
}

/**
 * Docker's words for a wrong number of arguments (cobra's validators), its hint, usage line and
 * description: `"cairn tag" requires exactly 2 arguments.` … exit 1.
 */
function argumentCountError(cmd: Command): string {
  const path: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) path.unshift(c.name());
  const name = ['cairn', ...path].join(' ');
  const args = cmd.registeredArguments;
  const said = ARITY_AS_DOCKER_SAYS.get(cmd);
  const min = said?.min ?? args.filter((a) => a.required).length;
  const max = said?.max ?? (args.some((a) => a.variadic) ? Infinity : args.length);
  const n = (k: number): string => `${k} argument${k === 1 ? '' : 's'}`;
  const rule =
    max === 0 ? 'accepts no arguments' : min === max ? `requires exactly ${n(min)}` : max === Infinity ? `requires at least ${n(min)}` : min === 0 ? `requires at most ${n(max)}` : `requires at least ${min} and at most ${n(max)}`;
  return `"${name}" ${rule}.\nSee '${name} --help'.\n\nUsage:  ${name} ${cmd.usage()}\n\n${cmd.description()}\n`;
}

/**
 * A promise rejected with nobody to hear it is a bug, but the user still gets one line, not a
 * stack trace (with --debug, the stack too); the store is crash-safe, as for a kill.
 */
function lastResort(debug: () => boolean): void {
  process.once('unhandledRejection', (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`${e instanceof CairnError ? errorLine(e).split('\n')[0] : `Error: ${err.message.split('\n')[0]}`}\n`);
    if (debug() && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(e instanceof CairnError ? e.exitCode : 1);
  });
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(topLevelCommand(argv));
  lastResort(() => program.opts<GlobalOptions>().debug === true);
  let args: string[];
  try {
    args = dockerArgv(program, argv);
  } catch (e) {
    if (!(e instanceof CairnError)) throw e;
    process.stderr.write(`${errorLine(e)}\n`);
    return e.exitCode;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (e.code === 'commander.missingArgument' || e.code === 'commander.excessArguments') {
        const cmd = commandOf(program, args);
        if (cmd) {
          process.stderr.write(argumentCountError(cmd));
          return 1;
        }
      }
      // Docker's wording: "unknown flag: --x" / "\"cairn images\" requires ..." then a hint, exit 125.
      let msg = e.message.replace(/^error: /, '');
      const m = /unknown option '([^']+)'/.exec(msg);
      if (m) msg = `unknown flag: ${m[1]}`;
      process.stderr.write(`${msg}\nSee '${commandPath(args)} --help'.\n`);
      return 125;
    }
    if (e instanceof CairnError) {
      process.stderr.write(`${errorLine(e)}\n`);
      if (program.opts<GlobalOptions>().debug && e.stack) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    process.stderr.write(`Error: ${err?.message ?? String(e)}\n`);
    if (program.opts<GlobalOptions>().debug && err?.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

