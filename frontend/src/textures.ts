import { ImageSource, Texture } from 'pixi.js';

/** A wish for an image; the map cancels it when the work no longer needs that image. */
export interface TextureRequest {
  cancelled: boolean;
  /** True while the work is on screen: such requests jump the queue. */
  readonly urgent: () => boolean;
  readonly done: (texture: Texture | null) => void;
}

/** One download, shared by every request for the same image at the same size. */
interface Job {
  readonly key: string;
  readonly url: string;
  readonly maxSide: number;
  readonly requests: TextureRequest[];
}

interface Entry {
  readonly key: string;
  readonly texture: Texture;
  readonly bitmap: ImageBitmap;
  refs: number;
}

/**
 * Loads images into shared, reference-counted textures with a cap on concurrent downloads.
 *
 * Images are decoded off the main thread and downscaled to `maxSide`, so a collection whose
 * "thumbnails" are really full-size JPEGs still fits in GPU memory with thousands of works.
 */
export class TextureStore {
  private readonly entries = new Map<string, Entry>();
  private readonly byTexture = new Map<Texture, Entry>();
  /** Jobs by key, queued or running. */
  private readonly jobs = new Map<string, Job>();
  private queue: Job[] = [];
  private active = 0;
  // Bumped by clear(): loads that finish afterwards are thrown away.
  private generation = 0;

  constructor(private readonly maxActive: number) {}

  /** Asks for `url` at most `maxSide` pixels long; `done` gets the texture (or null on failure). */
  request(
    url: string,
    maxSide: number,
    urgent: () => boolean,
    done: (texture: Texture | null) => void,
  ): TextureRequest | null {
    const key = `${maxSide} ${url}`;
    const entry = this.entries.get(key);
    if (entry) {
      entry.refs++;
      done(entry.texture);
      return null;
    }
    const req: TextureRequest = { cancelled: false, urgent, done };
    let job = this.jobs.get(key);
    if (!job) {
      job = { key, url, maxSide, requests: [] };
      this.jobs.set(key, job);
      this.queue.push(job);
    }
    job.requests.push(req);
    this.pump();
    return req;
  }

  /** Gives back a texture obtained from request(); the last release frees it. */
  release(texture: Texture): void {
    const entry = this.byTexture.get(texture);
    if (!entry || --entry.refs > 0) return;
    this.entries.delete(entry.key);
    this.byTexture.delete(texture);
    texture.destroy(true);
    entry.bitmap.close();
  }

  /** Drops every queued request and frees every texture. */
  clear(): void {
    this.generation++;
    this.queue = [];
    this.jobs.clear();
    for (const [texture, entry] of this.byTexture) {
      texture.destroy(true);
      entry.bitmap.close();
    }
    this.entries.clear();
    this.byTexture.clear();
  }

  private pump(): void {
    while (this.active < this.maxActive) {
      const job = this.next();
      if (!job) return;
      this.start(job);
    }
  }

  /** The first job someone on screen waits for, else the oldest; abandoned jobs are dropped. */
  private next(): Job | null {
    const q = this.queue;
    let write = 0;
    let pick = -1;
    for (let read = 0; read < q.length; read++) {
      const job = q[read];
      let wanted = false;
      let urgent = false;
      for (const req of job.requests) {
        if (req.cancelled) continue;
        wanted = true;
        if (req.urgent()) {
          urgent = true;
          break;
        }
      }
      if (!wanted) {
        this.jobs.delete(job.key);
        continue;
      }
      q[write] = job;
      if (pick < 0 && urgent) pick = write;
      write++;
    }
    q.length = write;
    if (q.length === 0) return null;
    if (pick < 0) pick = 0;
    return q.splice(pick, 1)[0];
  }

  private start(job: Job): void {
    this.active++;
    const generation = this.generation;
    decodeImage(job.url, job.maxSide)
      .then((bitmap) => {
        if (generation !== this.generation) {
          bitmap.close();
          return;
        }
        this.jobs.delete(job.key);
        const source = new ImageSource({
          resource: bitmap,
          autoGenerateMipmaps: true, // smooth, not shimmering, when zoomed far out
          scaleMode: 'linear',
        });
        const entry: Entry = { key: job.key, texture: new Texture({ source }), bitmap, refs: 0 };
        this.entries.set(job.key, entry);
        this.byTexture.set(entry.texture, entry);
        for (const req of job.requests) {
          if (req.cancelled) continue;
          entry.refs++;
          req.done(entry.texture);
        }
        if (entry.refs === 0) {
          entry.refs = 1;
          this.release(entry.texture);
        }
      })
      .catch(() => {
        if (generation !== this.generation) return;
        this.jobs.delete(job.key);
        for (const req of job.requests) if (!req.cancelled) req.done(null);
      })
      .finally(() => {
        this.active--;
        this.pump();
      });
  }
}

/** Downloads and decodes an image, scaled so its longer side is at most `maxSide` pixels. */
async function decodeImage(url: string, maxSide: number): Promise<ImageBitmap> {
  // fetch + createImageBitmap(blob) decodes off the main thread. Museum CDNs must send CORS headers
  // for this (as WebGL needs anyway); same-origin media always works.
  const response = await fetch(url, { mode: 'cors', credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${response.status} for ${url}`);
  const bitmap = await createImageBitmap(await response.blob());
  const { width: w, height: h } = bitmap;
  if (Math.max(w, h) <= maxSide) return bitmap;
  const s = maxSide / Math.max(w, h);
  try {
    return await createImageBitmap(bitmap, {
      resizeWidth: Math.max(1, Math.round(w * s)),
      resizeHeight: Math.max(1, Math.round(h * s)),
      resizeQuality: 'medium',
    });
  } finally {
    bitmap.close();
  }
}
