import type { Command } from "commander";
import { formatLogLine, slotDigitsOf, type LogFormat, type LogRecord, type LogTask } from "../../domain/log-lines.js";
import { ApiCallError } from "../../protocol/http-client.js";
import { JsonLineParser } from "../../protocol/json-lines.js";
import { action, type Cli } from "../cli.js";
import type { ApiClient } from "../client.js";

interface LogsFlags {
  follow?: boolean;
  since?: string;
  tail: string;
  timestamps?: boolean;
  taskIds: boolean;
  trunc: boolean;
  resolve: boolean;
  raw?: boolean;
}

const taskIdPattern = /^task_[a-v0-9]{1,40}$/;

/** The service's log stream, else (docker's order) the task's; neither: docker's message. */
async function openLogs(client: ApiClient, ref: string, query: Record<string, string | undefined>, signal: AbortSignal) {
  const headers = { accept: "application/x-ndjson" };
  try {
    return await client.openStream(`/v1/services/${encodeURIComponent(ref)}/logs`, { query, headers, signal });
  } catch (err) {
    if (!(err instanceof ApiCallError && err.code === "not_found" && err.errors.length === 0)) throw err;
  }
  if (taskIdPattern.test(ref)) {
    try {
      return await client.openStream(`/v1/tasks/${encodeURIComponent(ref)}/logs`, { query, headers, signal });
    } catch (err) {
      if (!(err instanceof ApiCallError && err.code === "not_found")) throw err;
    }
  }
  throw new Error(`no such task or service: ${ref}`);
}

/**
 * `shoal service logs SERVICE|TASK`: docker service logs over GET /v1/services/{id}/logs
 * (or /v1/tasks/{id}/logs). stdout lines go to stdout and stderr lines to stderr, each
 * with docker's prefix; -f follows until interrupted (then exits 0).
 */
export function addServiceLogsCommand(service: Command, cli: Cli) {
  service
    .command("logs")
    .description("Fetch the logs of a service or task")
    .argument("<service|task>")
    .option("-f, --follow", "Follow log output")
    .option("--since <time>", 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .option("-n, --tail <lines>", "Number of lines to show from the end of the logs", "all")
    .option("-t, --timestamps", "Show timestamps")
    .option("--no-task-ids", "Do not include task IDs in output")
    .option("--no-trunc", "Do not truncate output")
    .option("--no-resolve", "Do not map IDs to Names in output")
    .option("--raw", "Do not neatly format logs")
    .action(
      action(async (ref: string, opts: LogsFlags) => {
        const client = await cli.client();
        const stop = new AbortController();
        const release = cli.onInterrupt(() => stop.abort());
        try {
          const res = await openLogs(client, ref, { follow: opts.follow ? "true" : undefined, tail: opts.tail, since: opts.since }, stop.signal);
          const tasks = new Map<string, LogTask>();
          const format: LogFormat = {
            timestamps: Boolean(opts.timestamps),
            noTaskIds: !opts.taskIds,
            noTrunc: !opts.trunc,
            noResolve: !opts.resolve,
            raw: Boolean(opts.raw),
            slotDigits: 1,
          };
          const parser = new JsonLineParser();
          let ended = false;
          const print = (record: LogRecord) => {
            switch (record.kind) {
              case "tasks":
                // Following, a later record names tasks placed since (a scale-up, a replaced task).
                for (const t of record.tasks) tasks.set(t.id, t);
                format.slotDigits = slotDigitsOf(record.replicas, [...tasks.values()]);
                return;
              case "line":
                (record.stream === "stderr" ? cli.err : cli.out)(`${formatLogLine(record, tasks.get(record.taskId), format)}\n`);
                return;
              case "warning":
                cli.err(`warning: ${record.message}\n`);
                return;
              case "end":
                ended = true;
            }
          };
          for await (const chunk of res as AsyncIterable<Buffer>) for (const r of parser.push(chunk)) print(r as LogRecord);
          for (const r of parser.end()) print(r as LogRecord);
          if (!ended && !stop.signal.aborted) throw new Error("the log stream closed before its end: the control plane went away");
        } catch (err) {
          if (!stop.signal.aborted) throw err;
        } finally {
          release();
        }
      }),
    );
}
