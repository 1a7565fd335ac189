/**
 * The CLI's `ProgressReporter`: cli-progress bars on a terminal, plain lines otherwise (logs, CI,
 * pipes), where a task prints a line at every tenth of its total and one when done.
 */
import cliProgress from 'cli-progress';
import type { ProgressReporter, ProgressTask } from '@methodzoo/core';

export interface ProgressOptions {
  /** Where progress goes; the results tables go to stdout, so by default stderr. */
  stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Bars or plain lines; by default whether `stream` is a terminal. */
  tty?: boolean;
  /** Put before every line, e.g. the method name. */
  prefix?: string;
}

export interface CliProgress extends ProgressReporter {
  /** Stops the bars (restoring the cursor); call once the work is over. */
  close(): void;
}

/** `loss 0.312 acc 91.2`: numbers with 4 significant digits. */
export function formatInfo(info: Record<string, string | number> | undefined): string {
  if (!info) return '';
  return Object.entries(info)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
    .join(' ');
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

function checkTotal(name: string, total: number): void {
  if (!Number.isFinite(total) || total <= 0) throw new Error(`progress task '${name}': total must be a positive number, got ${total}`);
}

export function createProgress(options: ProgressOptions = {}): CliProgress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? (stream as NodeJS.WriteStream).isTTY === true;
  const prefix = options.prefix ? `[${options.prefix}] ` : '';
  return tty ? barProgress(stream, prefix) : lineProgress(stream, prefix);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function lineProgress(stream: NodeJS.WritableStream, prefix: string): CliProgress {
  const write = (line: string) => stream.write(`${prefix}${line}\n`);
  return {
    task(name, total) {
      checkTotal(name, total);
      const start = performance.now();
      let value = 0;
      let lastTenth = 0;
      let closed = false;
      return {
        tick(n = 1, info) {
          if (closed) return;
          value = Math.min(total, value + n);
          const tenth = Math.floor((10 * value) / total);
          // one line per tenth crossed, and not for the last one: done() prints that
          if (tenth > lastTenth && value < total) {
            lastTenth = tenth;
            const extra = formatInfo(info);
            write(`${name}: ${value}/${total} (${Math.floor((100 * value) / total)}%)${extra ? ` ${extra}` : ''} ${seconds(performance.now() - start)}`);
          }
        },
        done() {
          if (closed) return;
          closed = true;
          write(`${name}: done ${value}/${total} in ${seconds(performance.now() - start)}`);
        },
      };
    },
    log: (message) => write(message),
    close() {},
  };
}

function barProgress(stream: NodeJS.WritableStream, prefix: string): CliProgress {
  let multi: cliProgress.MultiBar | null = null;
  let lastDraw = 0;
  const bars = () =>
    (multi ??= new cliProgress.MultiBar(
      {
        stream,
        format: `${prefix}{task} [{bar}] {value}/{total} {percentage}% {info} | {duration_formatted} eta {eta_formatted}`,
        barsize: 28,
        // a training loop is synchronous, so no SIGINT handler could restore a hidden cursor
        hideCursor: false,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: true,
        etaBuffer: 50,
        // the caller decided this is a terminal (a test may pass a plain stream)
        noTTYOutput: true,
        // redraw every bar each time: after a log line, cli-progress skips unchanged bars, which vanish
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    ));
  // Training loops are synchronous, so cli-progress's redraw timer rarely fires: draw on ticks.
  const draw = (force = false) => {
    const now = performance.now();
    if (multi && (force || now - lastDraw > 100)) {
      lastDraw = now;
      multi.update();
    }
  };
  return {
    task(name, total) {
      checkTotal(name, total);
      const multiBar = bars();
      const bar = multiBar.create(total, 0, { task: name, info: '' });
      const start = performance.now();
      let value = 0;
      let closed = false;
      draw(true);
      return {
        tick(n = 1, info) {
          if (closed) return;
          value = Math.min(total, value + n);
          bar.increment(n, info ? { info: formatInfo(info) } : {});
          draw();
        },
        done() {
          if (closed) return;
          closed = true;
          // a finished task leaves a line, not a bar: the screen keeps only the running ones
          multiBar.remove(bar);
          multiBar.log(`${prefix}${name}: done ${value}/${total} in ${seconds(performance.now() - start)}\n`);
          draw(true);
        },
      };
    },
    log(message) {
      if (multi) {
        multi.log(`${prefix}${message}\n`);
        draw(true);
      } else stream.write(`${prefix}${message}\n`);
    },
    close() {
      if (multi) {
        draw(true);
        multi.stop();
        multi = null;
      }
    },
  };
}
