// The reports a family offers beside its checks (`allocspec check --report
// NAME`): a family registers here what the harness prints; the harness
// names no family. Each is loaded when asked for.
export const REPORTS: Record<string, { text: string; render(): Promise<string> }> = {
  percpu: {
    text: "percpu bytes of every bucket set up at once against on demand (seed 000)",
    async render() {
      const { percpuReport, renderPercpuReport } = await import('./percpu/report.ts');
      return renderPercpuReport(percpuReport([4, 8, 128]));
    },
  },
  'percpu-chunk': {
    text: "seed 003's chunk allocator serving bpf-ma's percpu objects: map and page figures",
    async render() {
      const { percpuChunkReport, renderPercpuChunkReport } = await import('./percpu_chunk/report.ts');
      return renderPercpuChunkReport(percpuChunkReport());
    },
  },
};
