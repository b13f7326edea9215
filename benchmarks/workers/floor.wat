;; The floor of DESIGN.md: a minimal WASI module exporting a no-op.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "noop")))
