// DuckDB-WASM's browser module imports "apache-arrow"; the page's import map points that name here.
// apache-arrow's UMD bundle, loaded by a classic <script> before it, has set globalThis.Arrow.
const Arrow = globalThis.Arrow;
export const { RecordBatchReader, Table, tableToIPC, tableFromIPC, Type, Schema, Field, Vector, DataType } = Arrow;
export default Arrow;
