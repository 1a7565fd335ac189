/**
 * The reference backend's loops over caller-provided typed arrays: each reads its inputs and writes
 * `out`, allocating nothing. For backends whose memory is itself a typed array (tfjs-backend-wasm's
 * heap), which can run them on views of their buffers instead of copying.
 */
export { binaryKernel, castKernel, reluBackwardKernel, unaryKernel, whereKernel } from './elementwise.js';
export { argReduceKernel, reduceKernel } from './reduce.js';
export { expandKernel, permuteKernel, sliceKernel, sliceWriteKernel } from './movement.js';
export { foldKernel, unfoldKernel } from './conv.js';
export { gatherScatterKernel, indexSlabKernel } from './indexing.js';
