/**
 * @methodzoo/cli: the `methodzoo` command (`list`, `repro`, `bench`, `report`) and the pieces it is
 * made of, for scripts and tests: the method registry and loader, the progress reporter, the
 * report writer and the plotting functions (Vega-Lite specs rendered to SVG and PNG).
 */
export { main, USAGE, findWorkspaceRoot, type CliContext } from './cli.js';
export { METHODS, loadMethod, asReproEntry, type MethodSource, type LoadedMethod } from './methods.js';
export { createProgress, formatInfo, formatNumber, type CliProgress, type ProgressOptions } from './progress.js';
export {
  writeMethodReport,
  writeIndex,
  readAllResults,
  reportMarkdown,
  indexMarkdown,
  formatMetric,
  verdict,
  plotsOf,
  RESULTS_SCHEMA,
  type ResultsFile,
  type RunRecord,
  type PlotFile,
} from './report.js';
export {
  lineSpec,
  barSpec,
  imageGridSpec,
  plotSpec,
  renderSvg,
  svgToPng,
  writePlot,
  encodePng,
  pngSize,
  meanStd,
  axisTitle,
  FONT_FAMILY,
  FONT_FILE,
  PNG_SIGNATURE,
  type Plot,
} from './plot.js';
export { textTable, markdownTable, formatCell } from './table.js';
export type { ReproEntry, ReproOptions, ReproResult, ProgressReporter, ProgressTask, LinePlot, BarPlot, ImageGrid, ImageMatrix, PlotAxis, ReproTable } from '@methodzoo/core';
