/// <reference types="@webgpu/types" />
/**
 * Finding a WebGPU implementation and opening a device: `navigator.gpu` in browsers (and Deno), the npm package
 * `webgpu` (Dawn) in Node. No feature is required; `subgroups` is requested when the adapter offers it (the decode
 * kernel then scans with subgroup operations). Compatibility-mode adapters (OpenGL ES, as with Mesa's software
 * rasterizer) are accepted.
 */

/** Limits raised to the adapter's maximum when this package opens the device itself. */
const RAISED_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface DeviceOptions {
  /** A `navigator.gpu`-like entry point; default `navigator.gpu`, or Dawn from the `webgpu` package in Node. */
  gpu?: GPU;
  /** Node only: flags for the `webgpu` package's `create()` (e.g. `['backend=opengles']`). */
  dawnFlags?: string[];
  powerPreference?: GPUPowerPreference;
  /** Request the `subgroups` feature when the adapter has it (default true). */
  subgroups?: boolean;
  /** Values for the raised limits instead of the adapter's maxima (e.g. `{ maxComputeWorkgroupStorageSize: 16384,
   *  maxComputeInvocationsPerWorkgroup: 256 }` for a device with compatibility-mode compute limits). */
  limits?: Partial<Record<RaisedLimit, number>>;
}

export type RaisedLimit = (typeof RAISED_LIMITS)[number];

export interface OpenedDevice {
  device: GPUDevice;
  adapterInfo: string;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { window?: unknown }).window === 'undefined';

interface DawnModule {
  create(flags: string[]): GPU;
}

async function loadDawn(): Promise<DawnModule> {
  // A variable specifier keeps bundlers from trying to resolve the Node-only package for browser builds.
  const spec = 'webgpu';
  try {
    return (await import(/* @vite-ignore */ spec)) as DawnModule;
  } catch (e) {
    throw new Error(`no navigator.gpu, and the npm package "webgpu" (Dawn for Node) could not be loaded: ${(e as Error).message}`);
  }
}

/**
 * Dawn GPU instances by flags. They must stay referenced for as long as any device made from them lives (a
 * collected instance takes its event processing down with it), so they are kept for the life of the process.
 */
const dawnInstances = new Map<string, GPU>();

function dawnInstance(dawn: DawnModule, flags: string[]): GPU {
  const key = JSON.stringify(flags);
  let gpu = dawnInstances.get(key);
  if (!gpu) {
    gpu = dawn.create(flags);
    dawnInstances.set(key, gpu);
  }
  return gpu;
}

async function findAdapter(options: DeviceOptions): Promise<GPUAdapter> {
  const tried: string[] = [];
  const attempt = async (gpu: GPU, label: string, compat: boolean): Promise<GPUAdapter | null> => {
    const opts: GPURequestAdapterOptions & { featureLevel?: string } = { powerPreference: options.powerPreference };
    if (compat) opts.featureLevel = 'compatibility';
    const a = await gpu.requestAdapter(opts as GPURequestAdapterOptions);
    if (!a) tried.push(label);
    return a;
  };
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const gpu = options.gpu ?? nav?.gpu;
  if (gpu) {
    const a = (await attempt(gpu, 'requestAdapter()', false)) ?? (await attempt(gpu, "requestAdapter({featureLevel: 'compatibility'})", true));
    if (a) return a;
    throw new Error(`WebGPU is present but no adapter was found (tried ${tried.join(', ')})`);
  }
  if (!isNode) throw new Error('WebGPU is not available here (no navigator.gpu)');
  const dawn = await loadDawn();
  // Dawn's OpenGL ES backend goes through EGL; without a display server EGL needs the surfaceless platform.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  if (options.dawnFlags) {
    const a = await attempt(dawnInstance(dawn, options.dawnFlags), `Dawn ${JSON.stringify(options.dawnFlags)}`, true);
    if (a) return a;
  } else {
    // Dawn's default backend (Vulkan on Linux), then OpenGL ES through EGL without a display (Mesa llvmpipe).
    const a = await attempt(dawnInstance(dawn, []), 'Dawn default backend', false);
    if (a) return a;
    const b = await attempt(dawnInstance(dawn, ['backend=opengles']), 'Dawn backend=opengles (compatibility)', true);
    if (b) return b;
  }
  throw new Error(`no WebGPU adapter (tried ${tried.join(', ')})`);
}

/** Opens a device with the compute limits raised to what the adapter offers. */
export async function openDevice(options: DeviceOptions = {}): Promise<OpenedDevice> {
  const adapter = await findAdapter(options);
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = Math.min(v, options.limits?.[k] ?? v);
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if ((options.subgroups ?? true) && adapter.features.has('subgroups')) requiredFeatures.push('subgroups' as GPUFeatureName);
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const adapterInfo = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { device, adapterInfo };
}
