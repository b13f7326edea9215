;; Host-side glue, instantiated once per store on the guest's first read or write of a file (fd >= 3).
;;
;; wws shadows WASI's fd_read/fd_write to serve stdin/stdout/stderr itself. Calls for other fds must reach
;; wasmtime's own WASI, which finds the guest's memory through its *caller*'s "memory" export; a call made by the
;; host has no such caller. This module imports the guest's memory and re-exports it, so WASI called through it
;; reads and writes the guest's memory at the guest's pointers.
(module
  (import "wws" "memory" (memory 0))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (export "memory" (memory 0))
  (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
    (call $fd_read (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "fd_write") (param i32 i32 i32 i32) (result i32)
    (call $fd_write (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
