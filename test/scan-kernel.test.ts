/**
 * The scan kernel's bytes are its WebAssembly text assembled (so the source in the repository is
 * what runs), and the runtime has WebAssembly SIMD (else the scan falls back to JavaScript, slower).
 */
import { readFile } from 'node:fs/promises';
import wabt from 'wabt';
import { describe, expect, it } from 'vitest';
import { createScanKernel, SCAN_KERNEL_BASE64 } from '../src/vector-index/scan-kernel.ts';

describe('scan kernel', () => {
  it('is scan-kernel.wat assembled by wabt', async () => {
    const source = await readFile(new URL('../src/vector-index/scan-kernel.wat', import.meta.url), 'utf8');
    const assembled = (await wabt()).parseWat('scan-kernel.wat', source, { simd: true });
    const bytes = Buffer.from(assembled.toBinary({}).buffer).toString('base64');
    // On a change to the .wat, paste the new bytes into SCAN_KERNEL_BASE64.
    expect(SCAN_KERNEL_BASE64, `new SCAN_KERNEL_BASE64:\n${bytes}`).toBe(bytes);
  });

  it('runs as WebAssembly SIMD on this Node, adding four weighted int16 columns into float32 sums', () => {
    const kernel = createScanKernel(1024)!;
    expect(kernel.kind).toBe('wasm');
    const columns = new Int16Array(kernel.memory.buffer, 0, 4 * 8);
    columns.set([1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 30, 40, 50, 60, 70, 80, -1, -1, -1, -1, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0]);
    const sums = new Float32Array(kernel.memory.buffer, 256, 8);
    sums.fill(1);
    kernel.accumulate4(256, 0, 16, 32, 48, 8, 1, 0.5, 2, 0.25);
    // sums[i] = 1 + c0[i] + 0.5·c1[i] + 2·c2[i] + 0.25·c3[i]
    expect([...sums]).toEqual([30, 11, 17, 23, 31, 37, 43, 49]);
  });

  it('refuses memory beyond what wasm32 can address', () => {
    expect(createScanKernel(2 ** 33)).toBeUndefined();
  });
});
