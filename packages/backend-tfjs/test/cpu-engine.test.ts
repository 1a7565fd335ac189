/**
 * The kernels' portable routes: on tfjs-wasm most movement, comparison and convolution-gradient
 * kernels run on the wasm heap, so the tfjs-op routes that tfjs-node (and any non-wasm tfjs
 * backend) takes would go unexercised. This runs the core's conformance suite on a backend built
 * over tfjs's pure-JS `cpu` backend, which takes those routes.
 */
import { registerBackend, setBackendAsync } from '@methodzoo/core';
import * as tf from '@tensorflow/tfjs';
import { describeOpConformance } from '../../core/test/helpers/op-conformance.js';
import { TfjsBackend } from '../src/index.js';

registerBackend('tfjs-cpu', () => new TfjsBackend('tfjs-cpu', tf, 'cpu', 'tfjs-backend-cpu'), -1);
const backend = await setBackendAsync('tfjs-cpu');

describeOpConformance([
  {
    name: 'tfjs-cpu (the routes off the wasm heap)',
    backend,
    exclusions: {},
    skipDTypes: { float64: 'TensorFlow.js has no float64 (the backend refuses it with an error)' },
  },
]);
