"""The WebAssembly binary codec: reading modules (`reader`), editing them (`module_edit`) and the items of components
(`component_items`). Build-time code, for the engines' snapshots: never on a request's path. It imports nothing of
wws but its errors."""
