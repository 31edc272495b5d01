// The correlator's public face: events in, flow records out.
export { Correlator, type CorrelatorOptions, type CorrelatorCounters } from './correlator.js';
export { resolverNamer, type Namer } from './namer.js';
export * from './model.js';
