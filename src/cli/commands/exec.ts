import type { ExecRecord } from "../../domain/log-lines.js";
import { JsonLineParser } from "../../protocol/json-lines.js";
import { action, ExitStatus, type CommandGroup } from "../cli.js";
import { UsageError } from "../format/units.js";

/**
 * `shoal exec TASK -- CMD…`: runs a command in a running task's container through
 * its agent (POST /v1/tasks/{id}/exec, admin tokens only) and prints its output,
 * stdout to stdout and stderr to stderr; exits with the command's exit code
 * (Nomad's alloc exec; Swarm has none). Not interactive yet: no stdin, no TTY.
 */
export const registerExecCommands: CommandGroup = (program, cli) => {
  program
    .command("exec")
    .description("Run a command in a task's container")
    .argument("<task>", "the task's id")
    .argument("<command...>", "the command and its arguments, after --")
    .passThroughOptions()
    .action(
      action(async (task: string, args: string[]) => {
        // Options after the task are the command's (passed through), `--` included: it only separates.
        const cmd = args[0] === "--" ? args.slice(1) : args;
        if (cmd.length === 0) throw new UsageError("missing the command to run, after --");
        const client = await cli.client();
        const stop = new AbortController();
        const release = cli.onInterrupt(() => stop.abort());
        let exit: ExecRecord | undefined;
        try {
          const res = await client.openStream(`/v1/tasks/${encodeURIComponent(task)}/exec`, {
            method: "POST",
            body: { cmd },
            headers: { accept: "application/x-ndjson" },
            signal: stop.signal,
          });
          const parser = new JsonLineParser();
          const print = (r: ExecRecord) => {
            if (r.kind === "output") (r.stream === "stderr" ? cli.err : cli.out)(r.data);
            else exit = r;
          };
          for await (const chunk of res as AsyncIterable<Buffer>) for (const r of parser.push(chunk)) print(r as ExecRecord);
          for (const r of parser.end()) print(r as ExecRecord);
        } catch (err) {
          if (!stop.signal.aborted) throw err;
          throw new ExitStatus(130);
        } finally {
          release();
        }
        if (!exit) throw new Error("the exec stream closed before the command ended: the control plane went away");
        if (exit.kind === "error") throw new Error(exit.message);
        if (exit.kind === "exit" && exit.error) throw new Error(`cannot run the command: ${exit.error}`);
        // A command whose exit code the engine did not know (killed with its container) is a failure.
        const code = exit.kind === "exit" ? (exit.exitCode ?? 1) : 1;
        if (code !== 0) throw new ExitStatus(code);
      }),
    );
};
