/** Progress reporting shared by the long-running operations. */

export interface Progress {
  /** What is running: 'compress', 'decompress', 'verify', 'inspect', 'import', 'export'. */
  operation: string;
  /** The file being processed (a shard, for directories). */
  file: string;
  /** Tensor being processed (empty between tensors). */
  tensor: string;
  tensorsDone: number;
  tensorsTotal: number;
  /** Payload bytes processed and expected in total (tensor data; for directories, of all shards). */
  bytesDone: number;
  bytesTotal: number;
}

export type ProgressCallback = (p: Progress) => void;

/** Tracks one operation's counters and forwards them to the callback. */
export class ProgressTracker {
  tensorsDone = 0;
  bytesDone = 0;
  file = '';
  tensor = '';

  constructor(
    readonly operation: string,
    public tensorsTotal: number,
    public bytesTotal: number,
    private readonly callback?: ProgressCallback,
  ) {}

  emit(): void {
    this.callback?.({
      operation: this.operation,
      file: this.file,
      tensor: this.tensor,
      tensorsDone: this.tensorsDone,
      tensorsTotal: this.tensorsTotal,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
    });
  }

  bytes(n: number): void {
    this.bytesDone += n;
    this.emit();
  }

  tensorDone(): void {
    this.tensorsDone++;
    this.tensor = '';
    this.emit();
  }
}
