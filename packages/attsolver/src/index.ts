/**
 * @methodzoo/attsolver: AttNS / AttSolver, attention-inspired AI-hybrid ODE solvers for limited,
 * noisy data (Huang, Liang, Zhong, Lin; ICML 2024; arXiv:2302.10184), on the NeurVec base solver.
 */
export * from './ode.js';
export * from './steppers.js';
export * from './correctors.js';
export * from './train.js';
export * from './metrics.js';
export { repro } from './repro.js';
