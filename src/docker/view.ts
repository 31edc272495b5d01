// The Docker view of one engine: networks (driver, scope, subnets, VNI), containers and
// swarm tasks (service, slot, SandboxKey → namespace inode, endpoints), services (published
// ports, mode, VIPs) and the node's name. Never throws for a missing engine: it says so.
import { promises as fs } from 'node:fs';
import type { DockerContainer, DockerNetwork, DockerService, DockerView } from '../topology/model.js';
import { findDockerds, netnsInode, pathInDockerd, type Dockerd } from '../topology/netns.js';
import { DockerApiError, DockerClient } from './client.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** The dockerd listening on `socket` (compared by the socket file's identity, so paths inside another mount namespace match too). */
export async function dockerdForSocket(socket: string, dockerds: Dockerd[]): Promise<Dockerd | undefined> {
  let st;
  try {
    st = await fs.stat(socket);
  } catch {
    return undefined;
  }
  for (const d of dockerds) {
    for (const s of d.sockets) {
      try {
        const o = await fs.stat(pathInDockerd(d, s));
        if (o.ino === st.ino && o.dev === st.dev) return d;
      } catch {
        /* not this one */
      }
    }
  }
  return undefined;
}

function mapNetwork(n: Json): DockerNetwork {
  const opts: Record<string, string> = n.Options ?? {};
  const vni = opts['com.docker.network.driver.overlay.vxlanid_list'];
  const bridge = n.Driver === 'bridge' ? (opts['com.docker.network.bridge.name'] ?? (n.Name === 'bridge' ? 'docker0' : `br-${String(n.Id).slice(0, 12)}`)) : undefined;
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    scope: n.Scope,
    subnets: (n.IPAM?.Config ?? []).map((c: Json) => c.Subnet).filter(Boolean),
    ...(vni ? { vni: Number(String(vni).split(',')[0]) } : {}),
    ...(n.Ingress ? { ingress: true } : {}),
    ...(bridge ? { bridge } : {}),
  };
}

export async function collectDockerView(socket: string, dockerds?: Dockerd[]): Promise<DockerView> {
  const client = new DockerClient(socket);
  const view: DockerView = { socket, found: false, networks: [], containers: [], services: [] };
  let info: Json;
  try {
    info = await client.get('/info');
  } catch (e) {
    view.error = `Docker was not found at ${socket}; showing the kernel view only (${(e as Error).message})`;
    return view;
  }
  view.found = true;
  view.node = info.Name;
  view.version = info.ServerVersion;
  view.swarm = info.Swarm?.LocalNodeState === 'active';
  if (view.swarm) view.nodeId = info.Swarm?.NodeID;
  const d = await dockerdForSocket(socket, dockerds ?? (await findDockerds()));
  if (d) view.dockerd = { pid: d.pid, execRoot: d.execRoot, netnsInode: await netnsInode(`/proc/${d.pid}/ns/net`) };

  const nets: Json[] = await client.get('/networks');
  // The list lacks some options on older engines; inspect each (a host has a handful).
  const detailed = await Promise.all(nets.map((n) => client.get<Json>(`/networks/${encodeURIComponent(n.Id)}`).catch(() => n)));
  view.networks = detailed.map(mapNetwork);
  const netById = new Map(view.networks.map((n) => [n.id, n.name]));

  const list: Json[] = await client.get('/containers/json');
  const inspected = await Promise.all(list.map((c) => client.get<Json>(`/containers/${encodeURIComponent(c.Id)}/json`).catch(() => undefined)));
  for (const c of inspected) {
    if (!c) continue;
    const labels: Record<string, string> = c.Config?.Labels ?? {};
    const sandboxKey: string | undefined = c.NetworkSettings?.SandboxKey || undefined;
    const service = labels['com.docker.swarm.service.name'];
    const taskName = labels['com.docker.swarm.task.name'];
    // Task names are <service>.<slot>.<task id> (replicated) or <service>.<node id>.<task id> (global).
    const slotMatch = taskName && service && taskName.startsWith(`${service}.`) ? /^\.(\d+)\./.exec(taskName.slice(service.length)) : null;
    const container: DockerContainer = {
      id: c.Id,
      name: String(c.Name ?? '').replace(/^\//, ''),
      ...(service ? { service } : {}),
      ...(taskName ? { task: taskName } : {}),
      ...(slotMatch ? { slot: Number(slotMatch[1]) } : {}),
      ...(c.Config?.Image ? { image: c.Config.Image } : {}),
      ...(sandboxKey ? { sandboxKey } : {}),
      endpoints: Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, e]: [string, Json]) => ({
        network: netById.get(e.NetworkID) ?? name,
        ...(e.IPAddress ? { ip: `${e.IPAddress}/${e.IPPrefixLen}` } : {}),
        ...(e.MacAddress ? { mac: e.MacAddress } : {}),
      })),
      ports: Object.entries(c.NetworkSettings?.Ports ?? {}).flatMap(([k, binds]: [string, Json]) => {
        const [port, protocol] = k.split('/');
        if (!binds) return [{ private: Number(port), protocol }];
        return (binds as Json[]).map((b) => ({ private: Number(port), protocol, public: Number(b.HostPort), ...(b.HostIp ? { hostIp: b.HostIp } : {}) }));
      }),
    };
    if (sandboxKey) {
      container.netnsInode = (d ? await netnsInode(pathInDockerd(d, sandboxKey)) : undefined) ?? (await netnsInode(sandboxKey));
    }
    view.containers.push(container);
  }

  if (view.swarm) {
    try {
      const services: Json[] = await client.get('/services');
      const tasks: Json[] = await client.get('/tasks');
      view.services = services.map((s): DockerService => ({
        id: s.ID,
        name: s.Spec?.Name,
        mode: s.Spec?.Mode?.Global ? 'global' : 'replicated',
        ports: (s.Endpoint?.Ports ?? s.Spec?.EndpointSpec?.Ports ?? []).map((p: Json) => ({
          protocol: p.Protocol ?? 'tcp',
          ...(p.PublishedPort ? { published: p.PublishedPort } : {}),
          target: p.TargetPort,
          mode: p.PublishMode ?? 'ingress',
        })),
        vips: (s.Endpoint?.VirtualIPs ?? []).map((v: Json) => ({ network: netById.get(v.NetworkID) ?? v.NetworkID, addr: v.Addr })),
        tasks: tasks
          .filter((t) => t.ServiceID === s.ID)
          .map((t) => ({
            name: t.Slot ? `${s.Spec?.Name}.${t.Slot}` : `${s.Spec?.Name}.${t.NodeID}`,
            ...(t.NodeID ? { node: t.NodeID } : {}),
            ...(t.Status?.State ? { state: t.Status.State } : {}),
            ...(t.Status?.ContainerStatus?.ContainerID ? { containerId: t.Status.ContainerStatus.ContainerID } : {}),
            addrs: (t.NetworksAttachments ?? []).flatMap((a: Json) => (a.Addresses ?? []).map((addr: string) => ({ network: a.Network?.Spec?.Name ?? '', addr }))),
          })),
      }));
    } catch (e) {
      // A worker cannot list services (only managers can): its tasks still show as containers.
      if (!(e instanceof DockerApiError && e.status === 503)) view.error = `could not list services: ${(e as Error).message}`;
    }
  }
  return view;
}
