/** What the features table describes, imported from the packages' sources. */
export { type Backend, INFER, isFusedPrim, type PrimName, ReferenceBackend } from '../../packages/core/src/index.js';
export { DTYPES as DTYPES_FOR_DOCS } from '../../packages/core/src/dtype.js';
export { TfjsBackend } from '../../packages/backend-tfjs/src/backend.js';
