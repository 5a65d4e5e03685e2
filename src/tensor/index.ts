// The tensor module: one in-memory form (tensor.ts) and a converter pair per wire format.
export * from "./tensor.js";
export * from "./datatype.js";
export * from "./half.js";
export * from "./values.js";
export * from "./json.js";
export * from "./binary.js";
export * from "./grpc-contents.js";
export * from "./matrix.js";
