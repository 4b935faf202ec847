import { createRequire } from "node:module";
import { InvalidInputError } from "../errors.ts";

/**
 * Checks on a photo before anyone looks at it: that it is a JPEG or PNG at all, not huge, not a
 * thumbnail, and (where the pixels can be read) not blurred, too dark or burnt out. The issue
 * names sharp for this; it is not among the installed packages, so PNG pixels are read with
 * pngjs (already installed, by qrcode) and a JPEG's size from its frame header, its pixels
 * left to the reviewer until sharp is added.
 */
type DecodedPng = { width: number; height: number; data: Buffer };
const { PNG } = createRequire(import.meta.url)("pngjs") as {
  PNG: { sync: { read(buffer: Buffer): DecodedPng; write(png: DecodedPng): Buffer } };
};

export const photoLimits = {
  maxBytes: 10 * 1024 * 1024,
  /** A document must be legible: at least this many pixels on its shorter side. */
  minShortSide: 480,
  /** Below this variance of the Laplacian the picture has no sharp edges: blurred. */
  minSharpness: 40,
  minBrightness: 40,
  maxBrightness: 225,
};

export type ImageCheck = { name: string; outcome: "pass" | "fail" | "not-measured"; detail: string };

export type CheckedImage = {
  mediaType: "image/png" | "image/jpeg";
  width: number;
  height: number;
  checks: ImageCheck[];
};

function refuse(message: string): never {
  throw InvalidInputError.field("photo", message);
}

function jpegSize(bytes: Buffer): { width: number; height: number } | undefined {
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1] as number;
    const length = bytes.readUInt16BE(offset + 2);
    // SOF0 to SOF15, except DHT (C4), JPG (C8) and DAC (CC), carry the frame's size.
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
      return { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
    offset += 2 + length;
  }
  return undefined;
}

/** Luminance (Rec. 601) of every pixel, sampled down to at most 1000 pixels wide. */
function luminance(png: DecodedPng): { values: Float64Array; width: number; height: number } {
  const step = Math.max(1, Math.ceil(png.width / 1000));
  const width = Math.floor(png.width / step);
  const height = Math.floor(png.height / step);
  const values = new Float64Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const at = (y * step * png.width + x * step) * 4;
      values[y * width + x] =
        0.299 * (png.data[at] as number) +
        0.587 * (png.data[at + 1] as number) +
        0.114 * (png.data[at + 2] as number);
    }
  return { values, width, height };
}

/** Variance of the 4-neighbour Laplacian: the usual measure of focus (Pech-Pacheco et al., 2000). */
function sharpness({ values, width, height }: ReturnType<typeof luminance>): number {
  let sum = 0;
  let squares = 0;
  let count = 0;
  for (let y = 1; y < height - 1; y++)
    for (let x = 1; x < width - 1; x++) {
      const at = y * width + x;
      const laplacian =
        (values[at - 1] as number) +
        (values[at + 1] as number) +
        (values[at - width] as number) +
        (values[at + width] as number) -
        4 * (values[at] as number);
      sum += laplacian;
      squares += laplacian * laplacian;
      count++;
    }
  if (count === 0) return 0;
  const mean = sum / count;
  return squares / count - mean * mean;
}

export function checkImage(bytes: Buffer, limits = photoLimits): CheckedImage {
  if (bytes.length === 0) refuse("is empty: choose a photo");
  if (bytes.length > limits.maxBytes)
    refuse(`is too big: it must be at most ${limits.maxBytes / 1024 / 1024} MB`);
  const isPng = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!isPng && !isJpeg) refuse("must be a photo (a JPEG or PNG file)");
  let png: DecodedPng | undefined;
  let size: { width: number; height: number } | undefined;
  if (isPng) {
    try {
      png = PNG.sync.read(bytes);
      size = { width: png.width, height: png.height };
    } catch {
      refuse("could not be read as a picture: it may be damaged");
    }
  } else size = jpegSize(bytes);
  if (!size) refuse("could not be read as a picture: it may be damaged");
  if (Math.min(size.width, size.height) < limits.minShortSide)
    refuse(
      `is too small (${size.width} by ${size.height} pixels): take it with the camera, at least ${limits.minShortSide} pixels on its shorter side`,
    );
  const checks: ImageCheck[] = [
    { name: "format", outcome: "pass", detail: isPng ? "PNG" : "JPEG" },
    { name: "resolution", outcome: "pass", detail: `${size.width} × ${size.height} pixels` },
  ];
  if (png) {
    const grey = luminance(png);
    const focus = sharpness(grey);
    const brightness = grey.values.reduce((total, value) => total + value, 0) / grey.values.length;
    checks.push({
      name: "sharpness",
      outcome: focus >= limits.minSharpness ? "pass" : "fail",
      detail: `variance of the Laplacian ${focus.toFixed(0)} (at least ${limits.minSharpness})`,
    });
    checks.push({
      name: "exposure",
      outcome: brightness < limits.minBrightness || brightness > limits.maxBrightness ? "fail" : "pass",
      detail: `mean brightness ${brightness.toFixed(0)} of 255 (${limits.minBrightness} to ${limits.maxBrightness})`,
    });
    const failed = checks.find((check) => check.outcome === "fail");
    if (failed?.name === "sharpness") refuse("is blurred: hold the camera still and take it again");
    if (failed?.name === "exposure")
      refuse(
        brightness < limits.minBrightness
          ? "is too dark: take it again in better light"
          : "is too bright: take it again out of direct light",
      );
  } else {
    for (const name of ["sharpness", "exposure"])
      checks.push({
        name,
        outcome: "not-measured",
        detail: "JPEG pixels are not decoded; the reviewer judges",
      });
  }
  return { mediaType: isPng ? "image/png" : "image/jpeg", width: size.width, height: size.height, checks };
}

/** A PNG of a textured card or face stand-in: what tests and the demo upload. */
export function samplePhoto(
  options: { width?: number; height?: number; brightness?: number; seed?: number } = {},
): Buffer {
  const width = options.width ?? 900;
  const height = options.height ?? 600;
  const base = options.brightness ?? 128;
  const data = Buffer.alloc(width * height * 4);
  let state = options.seed ?? 1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      // Printed-text-like stripes and blocks, so a focus measure finds edges.
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      const ink = ((x >> 3) + (y >> 4)) % 5 === 0 ? -60 : 0;
      const grain = (state % 21) - 10;
      const value = Math.max(0, Math.min(255, base + ink + grain));
      const at = (y * width + x) * 4;
      data[at] = value;
      data[at + 1] = value;
      data[at + 2] = Math.min(255, value + 10);
      data[at + 3] = 255;
    }
  return PNG.sync.write({ width, height, data });
}
