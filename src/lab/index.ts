// The lab's public face for commands and for other issues' tests.
export { labUp, labDown, labStatus, labExec, labRequest, resolveLabTarget, labNetnsPath, chooseLbMode } from './lab.js';
export type { LabStatus, LabUpResult } from './lab.js';
export { labLayout, LAB_PREFIX, LAB_PUBLISHED_PORT, LAB_FWMARK, dockerMac } from './layout.js';
export type { LabLayout, LabNamespace, LbMode } from './layout.js';
export { readLabMetadata, LAB_STATE_DIR, LAB_METADATA_FILE } from './metadata.js';
export type { LabMetadata } from './metadata.js';
export { labSlowHop, type SlowHop } from './slow-hop.js';
