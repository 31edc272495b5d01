// The topology model's public face (for the probe engine, the correlator and the commands).
export { listNetns, findDockerds, netnsInode, type NetnsRef, type NetnsSource, type ListNetnsOptions, type Dockerd } from './netns.js';
export { collectTopology, DEFAULT_DOCKER_SOCKET, type CollectOptions } from './collect.js';
export { createResolver, deviceLabel, type Resolver, type ResolvedDevice } from './resolver.js';
export { resolvePublishedPort, ruleText, type ServicePath, type Hop, type HopKind } from './service.js';
export { serializeSnapshot, parseSnapshot, compareSnapshots, type SnapshotDiff, type NetnsDiff } from './diff.js';
export { watchTopology, type TopologyWatcher, type TopologyEvent } from './watch.js';
export { renderText } from './render/text.js';
export { renderDot } from './render/dot.js';
export * from './model.js';
