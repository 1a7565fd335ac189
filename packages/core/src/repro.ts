/**
 * The reproduction contract: what a method package's `repro` export implements so the `methodzoo`
 * CLI (`@methodzoo/cli`) can run it, show progress, print its table and write its report and plots.
 * Types only, so a method package implements it without depending on the CLI.
 */

/** One unit of long work (an epoch, a sweep): `tick` advances it, `done` closes it. */
export interface ProgressTask {
  /** Advances by `n` (default 1); `info` is shown beside the bar, e.g. `{ loss: 0.31 }`. */
  tick(n?: number, info?: Record<string, string | number>): void;
  done(): void;
}

export interface ProgressReporter {
  /** Starts a task of `total` steps (a bar on a terminal, a few plain lines in logs). */
  task(name: string, total: number): ProgressTask;
  /** A line of text that does not break the bars. */
  log(message: string): void;
}

export interface ReproOptions {
  /** The small settings that finish in well under a minute per method on two cores. */
  quick: boolean;
  /** The seed of a single-seed run, and the first seed when `seeds` is not given. */
  seed: number;
  /** Seeds to repeat the experiment over (metrics become mean ± std); the method picks when absent. */
  seeds?: number[];
  /** The compute backend asked for by name; the CLI has already made it current. */
  backend?: string;
  /** The method's own report folder (`reports/<method>/`), for any extra files it writes. */
  outDir: string;
}

/** A plot axis: the label is shown with its unit, e.g. `loss (nats)`. */
export interface PlotAxis {
  label: string;
  unit?: string;
  /** Logarithmic scale (values must be positive). */
  log?: boolean;
}

/** Line plot of named series over a shared x axis, e.g. loss curves of a method and its baseline. */
export interface LinePlot {
  /** File stem of the plot: `<name>.svg` and `<name>.png`. */
  name: string;
  title: string;
  x: PlotAxis;
  y: PlotAxis;
  series: { name: string; x: number[]; y: number[] }[];
}

/** Bar plot of a metric, one bar per label, with mean ± standard deviation over the given values (seeds). */
export interface BarPlot {
  name: string;
  title: string;
  y: PlotAxis;
  bars: { label: string; values: number[] }[];
  /** A horizontal line across the bars, e.g. the threshold a claim names. */
  reference?: { value: number; label: string };
}

/** Pixel values in [0, 1], row-major, `channels` interleaved (1 = grayscale, 3 = RGB). */
export interface ImageMatrix {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: ArrayLike<number>;
}

/** A grid of images with captions (samples, predictions, attention maps). */
export interface ImageGrid {
  name: string;
  title: string;
  /** PNG file bytes or a pixel matrix. */
  images: { image: Uint8Array | ImageMatrix; caption?: string }[];
  columns?: number;
}

export interface ReproTable {
  columns: string[];
  rows: (string | number | null)[][];
}

export interface ReproResult {
  /** The results table printed on stdout and written into the report. */
  table: ReproTable;
  /** Headline numbers by name; a list holds one value per seed. */
  metrics: Record<string, number | number[]>;
  series?: LinePlot[];
  bars?: BarPlot[];
  images?: ImageGrid[];
  /** Differences from the paper, caveats of the small scale. */
  notes?: string[];
  /** Whether the claim held in this run; `null` when the run cannot tell (e.g. too small). */
  claimHolds?: boolean | null;
  /** One sentence with the numbers that decide `claimHolds`. */
  claimSummary?: string;
}

export interface ReproEntry {
  /** The method's name on the command line, e.g. `stepnet`. */
  name: string;
  title: string;
  paper: { title: string; arxiv?: string; venue?: string };
  /** The paper's claim this reproduction checks, as one sentence. */
  claim: string;
  run(options: ReproOptions, progress: ProgressReporter): Promise<ReproResult>;
}
