// omaf GJPI worker: serves one Java model (spec/gjpi.md) to the omaf Node process over the framed pipe protocol
// the Python workers speak (python/omaf_worker.py, src/runtime/process/protocol.ts).
//
// Usage (started by omaf, not by hand):
//     java -cp DIR OmafWorker serve --jar JAR --worker-id N     (DIR holds this file compiled by `compile`)
//     java OmafWorker.java compile SOURCE DIR                    (compiles this file into DIR once)
//
// Frames, in both directions (all integers little-endian):
//     u32 length | u8 type | payload (length bytes; it starts with a u32 request id)
// Node -> worker types:  'm' matrix as JSON {"data", "columns"}     'o' objects-mode input as JSON
//                        'b' numeric matrix: u32 header length | JSON header {"shape": [rows, cols], "columns",
//                            "int"} | zero padding to a multiple of 8 | rows*cols float64 values, row-major
// worker -> Node types:  'R' ready (JSON)   'F' load failed (JSON)   'E' request failed (JSON)
//                        'J' result as JSON {"prediction", "columns", "t"} or {"result", "t"}
//                        'A' numeric result: u32 header length | JSON header {"shape", "kind", "columns", "t"} |
//                            padding to 8 | float64 values, row-major
// "t" is the time the model method itself took, in microseconds.
//
// Only the Java SE library is used: the model JAR needs nothing from omaf, and the worker needs no JSON library.
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

public final class OmafWorker {
    static final int PROTOCOL_VERSION = 1;
    /** The JAR manifest attribute that names the model class (spec/gjpi.md). */
    static final String MODEL_CLASS_ATTRIBUTE = "Omaf-Model-Class";

    static final byte T_MATRIX_JSON = 'm';
    static final byte T_MATRIX_BINARY = 'b';
    static final byte T_OBJECTS = 'o';
    static final byte T_READY = 'R';
    static final byte T_FAILED = 'F';
    static final byte T_ERROR = 'E';
    static final byte T_RESULT_JSON = 'J';
    static final byte T_RESULT_BINARY = 'A';

    /** Largest integer a float64 (and a JavaScript number) holds exactly. */
    static final long MAX_EXACT_INT = 1L << 53;

    public static void main(String[] args) throws Exception {
        if (args.length >= 3 && args[0].equals("compile")) {
            System.exit(compile(args[1], args[2]));
        }
        if (args.length >= 1 && args[0].equals("serve")) {
            String jar = null;
            for (int i = 1; i + 1 < args.length; i += 2) if (args[i].equals("--jar")) jar = args[i + 1];
            if (jar != null) System.exit(serve(jar));
        }
        System.err.println("usage: OmafWorker serve --jar JAR [--worker-id N] | OmafWorker compile SOURCE DIR");
        System.exit(2);
    }

    /** Compiles this worker's source into `dir` with the JDK's own compiler (no javac on PATH needed). */
    static int compile(String source, String dir) {
        javax.tools.JavaCompiler compiler = javax.tools.ToolProvider.getSystemJavaCompiler();
        if (compiler == null) {
            System.err.println("this Java runtime has no compiler (a JDK is needed to run GJPI models)");
            return 1;
        }
        // Class files for Java 17, so a newer JDK's cache still runs on an older 17+ launcher.
        return compiler.run(null, null, null, "-nowarn", "--release", "17", "-d", dir, source);
    }

    // -----------------------------------------------------------------------------------------------------------
    // The channel
    // -----------------------------------------------------------------------------------------------------------

    /** Thrown by a model method or by the worker for a bad answer; carries the omaf error code to report. */
    static final class ModelError extends Exception {
        final String code;
        final String trace;

        ModelError(String code, String message, Throwable cause) {
            super(message);
            this.code = code;
            this.trace = cause == null ? null : stackTrace(cause);
        }
    }

    /** Frames over the process's real stdin and stdout, which no model code can reach once serve() has started. */
    static final class Channel {
        private final DataInputStream in;
        private final OutputStream out;

        Channel(InputStream in, OutputStream out) {
            this.in = new DataInputStream(new BufferedInputStream(in, 1 << 16));
            // One write(2) per frame for small answers: the frame's parts are gathered here and flushed together.
            this.out = new java.io.BufferedOutputStream(out, 1 << 16);
        }

        /** {type, id, body} or null at end of input. */
        Object[] read() throws IOException {
            byte[] head = new byte[9];
            try {
                in.readFully(head);
            } catch (EOFException e) {
                return null;
            }
            ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
            long length = h.getInt(0) & 0xffffffffL;
            byte type = h.get(4);
            int id = h.getInt(5);
            if (length < 4 || length - 4 > Integer.MAX_VALUE - 8) throw new IOException("bad frame length " + length);
            byte[] body = new byte[(int) (length - 4)];
            try {
                in.readFully(body);
            } catch (EOFException e) {
                return null;
            }
            return new Object[] {type, id, body};
        }

        void write(byte type, int id, byte[]... parts) throws IOException {
            int size = 4;
            for (byte[] p : parts) size += p.length;
            ByteBuffer head = ByteBuffer.allocate(9).order(ByteOrder.LITTLE_ENDIAN);
            head.putInt(size).put(type).putInt(id);
            out.write(head.array());
            for (byte[] p : parts) out.write(p);
            out.flush();
        }

        void writeJson(byte type, int id, String text) throws IOException {
            write(type, id, text.getBytes(StandardCharsets.UTF_8));
        }

        void writeBinary(byte type, int id, String headerText, byte[] raw) throws IOException {
            byte[] header = headerText.getBytes(StandardCharsets.UTF_8);
            byte[] len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(header.length).array();
            byte[] pad = new byte[(8 - (4 + header.length) % 8) % 8];
            write(type, id, len, header, pad, raw);
        }
    }

    /**
     * Keeps the real stdin/stdout for frames and points System.in at nothing and System.out at stderr, so model
     * prints land in omaf's log and nothing the model does through them can eat or corrupt frames.
     */
    static Channel takeChannel() {
        InputStream in = new java.io.FileInputStream(FileDescriptor.in);
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        System.setIn(new ByteArrayInputStream(new byte[0]));
        System.setOut(System.err);
        return new Channel(in, out);
    }

    /** Exits when the omaf process is gone, even while a model call hangs (end of input is seen between calls). */
    static void watchParent() {
        ProcessHandle parent = ProcessHandle.current().parent().orElse(null);
        Thread t = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                if (parent == null || !parent.isAlive()) Runtime.getRuntime().halt(0);
            }
        }, "omaf-parent-watch");
        t.setDaemon(true);
        t.start();
    }

    /** omaf stops workers by closing their input; Ctrl-C in a terminal must not kill them mid-request. */
    static void ignoreInterrupt() {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handler = Class.forName("sun.misc.SignalHandler");
            Object ignore = handler.getField("SIG_IGN").get(null);
            Object interrupt = signal.getConstructor(String.class).newInstance("INT");
            signal.getMethod("handle", signal, handler).invoke(null, interrupt, ignore);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Not every runtime has sun.misc.Signal: then Ctrl-C ends the worker, and omaf starts a new one.
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // The model
    // -----------------------------------------------------------------------------------------------------------

    static final class Model {
        final String jarPath;
        String className;
        Object instance;
        String mode;
        Method matrixNumeric; // predictOnMatrix(double[][], String[]) or (double[][])
        Method matrixObjects; // predictOnMatrix(Object[][], String[]) or (Object[][])
        Method objects; // predictOnObjects(Object)
        Function<Object, ?> serializer;

        Model(String jarPath) {
            this.jarPath = jarPath;
        }

        String where() {
            return "class '" + className + "'";
        }

        /** Loads the JAR's model class, creates it, calls init() and the optional GJPI methods; answers the ready message. */
        Map<String, Object> load() throws ModelError {
            File jar = new File(jarPath);
            try (JarFile file = new JarFile(jar)) {
                Manifest manifest = file.getManifest();
                className = manifest == null ? null : manifest.getMainAttributes().getValue(MODEL_CLASS_ATTRIBUTE);
            } catch (IOException e) {
                throw new ModelError("OMAF_ERR_ENTRYPOINT_LOAD", "cannot open the model JAR " + jarPath + ": " + e, e);
            }
            if (className == null || className.trim().isEmpty()) {
                throw new ModelError("OMAF_ERR_ENTRYPOINT_LOAD",
                        "the manifest of " + jarPath + " has no " + MODEL_CLASS_ATTRIBUTE + " attribute naming the model class", null);
            }
            className = className.trim();
            Class<?> cls;
            try {
                // The model sees the Java SE library and its own JAR (plus the JARs its Class-Path attribute lists),
                // not this worker.
                URLClassLoader loader = new URLClassLoader(new URL[] {jar.toURI().toURL()}, ClassLoader.getPlatformClassLoader());
                Thread.currentThread().setContextClassLoader(loader);
                cls = Class.forName(className, true, loader);
            } catch (ClassNotFoundException e) {
                throw new ModelError("OMAF_ERR_ENTRYPOINT_LOAD",
                        "the model class " + className + " named by " + MODEL_CLASS_ATTRIBUTE + " is not in " + jarPath, e);
            } catch (Throwable e) {
                throw new ModelError("OMAF_ERR_ENTRYPOINT_LOAD", "cannot load the model class " + className + " from " + jarPath + ": " + e, e);
            }
            if (!Modifier.isPublic(cls.getModifiers())) {
                throw new ModelError("OMAF_ERR_ENTRYPOINT_FUNCTION", "the model class " + className + " is not public", null);
            }
            try {
                instance = cls.getConstructor().newInstance();
            } catch (NoSuchMethodException e) {
                throw new ModelError("OMAF_ERR_ENTRYPOINT_FUNCTION", "the model class " + className + " has no public constructor without arguments", null);
            } catch (InvocationTargetException e) {
                throw new ModelError("OMAF_ERR_MODEL_INIT", "the constructor of " + className + " failed: " + e.getCause(), e.getCause());
            } catch (Throwable e) {
                throw new ModelError("OMAF_ERR_MODEL_INIT", "cannot create " + className + ": " + e, e);
            }

            Method init = method(cls, "init", "every GJPI model needs it");
            Object answer = callAtLoad("init", init);
            if (!"matrix".equals(answer) && !"objects".equals(answer)) {
                throw new ModelError("OMAF_ERR_ENTRYPOINT_FUNCTION",
                        "init() in " + where() + " returned " + describe(answer) + "; expected \"matrix\" or \"objects\"", null);
            }
            mode = (String) answer;
            if (mode.equals("matrix")) {
                for (Method m : cls.getMethods()) {
                    if (!m.getName().equals("predictOnMatrix")) continue;
                    Class<?>[] p = m.getParameterTypes();
                    boolean columnsOk = p.length == 1 || (p.length == 2 && p[1] == String[].class);
                    if (!columnsOk) continue;
                    if (p[0] == double[][].class) matrixNumeric = m;
                    else if (p[0] == Object[][].class) matrixObjects = m;
                }
                if (matrixNumeric == null && matrixObjects == null) {
                    throw new ModelError("OMAF_ERR_ENTRYPOINT_FUNCTION", "public predictOnMatrix(double[][] or Object[][], String[]) is missing in "
                            + where() + " (init() answered \"matrix\")", null);
                }
            } else {
                for (Method m : cls.getMethods()) {
                    if (m.getName().equals("predictOnObjects") && m.getParameterCount() == 1) objects = m;
                }
                if (objects == null) {
                    throw new ModelError("OMAF_ERR_ENTRYPOINT_FUNCTION",
                            "public predictOnObjects(Object) is missing in " + where() + " (init() answered \"objects\")", null);
                }
            }

            Map<String, Object> ready = new LinkedHashMap<>();
            ready.put("protocol", PROTOCOL_VERSION);
            ready.put("mode", mode);
            ready.put("pid", ProcessHandle.current().pid());
            ready.put("java", System.getProperty("java.version"));
            ready.put("modelClass", className);
            String infoName = optional(cls, "getInfo") != null ? "getInfo" : "info";
            Method info = optional(cls, infoName);
            if (info != null) {
                ready.put("info", callAtLoad(infoName, info));
                ready.put("infoFunction", infoName);
            }
            Method in = optional(cls, "getObjectInputType");
            if (in != null) ready.put("objectInputType", callAtLoad("getObjectInputType", in));
            Method out = optional(cls, "getObjectOutputType");
            if (out != null) ready.put("objectOutputType", callAtLoad("getObjectOutputType", out));
            Method ser = optional(cls, "getOutputJsonSerializer");
            if (ser != null) {
                Object s = callAtLoad("getOutputJsonSerializer", ser);
                if (s != null && !(s instanceof Function)) {
                    throw new ModelError("OMAF_ERR_ENTRYPOINT_FUNCTION", "getOutputJsonSerializer() in " + where()
                            + " must return a java.util.function.Function<Object, String>, not " + describe(s), null);
                }
                @SuppressWarnings("unchecked")
                Function<Object, ?> f = (Function<Object, ?>) s;
                serializer = f;
            }
            ready.put("serializer", serializer != null);
            return ready;
        }

        private Method optional(Class<?> cls, String name) {
            try {
                return cls.getMethod(name);
            } catch (NoSuchMethodException e) {
                return null;
            }
        }

        private Method method(Class<?> cls, String name, String why) throws ModelError {
            Method m = optional(cls, name);
            if (m == null) throw new ModelError("OMAF_ERR_ENTRYPOINT_FUNCTION", "public " + name + "() is missing in " + where() + " (" + why + ")", null);
            return m;
        }

        private Object callAtLoad(String name, Method m) throws ModelError {
            try {
                return m.invoke(instance);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                throw new ModelError("OMAF_ERR_MODEL_INIT", name + "() in " + where() + " failed: " + cause, cause);
            } catch (Throwable e) {
                throw new ModelError("OMAF_ERR_MODEL_INIT", name + "() in " + where() + " failed: " + e, e);
            }
        }

        /** Calls a predict method; answers {result, microseconds}. */
        private Object[] run(String name, Method m, Object... args) throws ModelError {
            long started = System.nanoTime();
            Object result;
            try {
                result = m.getParameterCount() < args.length ? m.invoke(instance, args[0]) : m.invoke(instance, args);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                throw new ModelError("OMAF_ERR_PREDICT", name + "() in " + where() + " failed: " + cause, cause);
            } catch (Throwable e) {
                throw new ModelError("OMAF_ERR_PREDICT", name + "() in " + where() + " failed: " + e, e);
            }
            return new Object[] {result, (System.nanoTime() - started) / 1000.0};
        }

        void predictMatrix(double[][] numeric, Object[][] values, String[] columns, Channel ch, int id) throws ModelError, IOException {
            // Like GPPI: the matrix and the caller's column names reach the model as given, positionally.
            Object[] r;
            if (numeric != null && matrixNumeric != null) r = run("predictOnMatrix", matrixNumeric, numeric, columns);
            else if (matrixObjects != null) r = run("predictOnMatrix", matrixObjects, values != null ? values : boxed(numeric), columns);
            else {
                throw new ModelError("OMAF_ERR_BAD_INPUT",
                        "predictOnMatrix() in " + where() + " takes numbers only (double[][]); the request has other values", null);
            }
            Object result = r[0];
            double micros = (double) r[1];
            Object prediction;
            Object outColumns;
            if (result != null && result.getClass() == Object[].class && ((Object[]) result).length == 2) {
                prediction = ((Object[]) result)[0];
                outColumns = ((Object[]) result)[1];
            } else if (result instanceof List && ((List<?>) result).size() == 2) {
                prediction = ((List<?>) result).get(0);
                outColumns = ((List<?>) result).get(1);
            } else if (result instanceof Map && ((Map<?, ?>) result).containsKey("prediction")) {
                prediction = ((Map<?, ?>) result).get("prediction");
                outColumns = ((Map<?, ?>) result).get("columns");
            } else {
                throw new ModelError("OMAF_ERR_PREDICT", "predictOnMatrix() in " + where()
                        + " must return new Object[] {prediction, columns} or a Map with \"prediction\" and \"columns\", not " + describe(result), null);
            }
            String columnsJson = Json.write(outColumns);
            if (serializer == null) {
                Binary bin = Binary.of(prediction);
                if (bin != null) {
                    String header = "{\"shape\":" + Json.write(bin.shape) + ",\"kind\":\"" + bin.kind + "\",\"columns\":" + columnsJson + ",\"t\":" + Json.number(micros) + "}";
                    ch.writeBinary(T_RESULT_BINARY, id, header, bin.raw);
                    return;
                }
            }
            String text = "{\"prediction\":" + encode(prediction, "predictOnMatrix") + ",\"columns\":" + columnsJson + ",\"t\":" + Json.number(micros) + "}";
            ch.writeJson(T_RESULT_JSON, id, text);
        }

        void predictObjects(Object value, Channel ch, int id) throws ModelError, IOException {
            Object[] r = run("predictOnObjects", objects, value);
            ch.writeJson(T_RESULT_JSON, id, "{\"result\":" + encode(r[0], "predictOnObjects") + ",\"t\":" + Json.number((double) r[1]) + "}");
        }

        /** JSON text of a result: the model's serializer when it has one (checked to be JSON), else omaf's writer. */
        private String encode(Object value, String fn) throws ModelError {
            try {
                if (serializer == null) return Json.write(value);
                Object text = serializer.apply(value);
                if (!(text instanceof CharSequence)) throw new IllegalArgumentException("the serializer returned " + describe(text) + ", not a String");
                // Parsed again so a bad serializer is reported here, and NaN/Infinity become null as everywhere else.
                return Json.write(Json.parse(text.toString()));
            } catch (RuntimeException e) {
                throw new ModelError("OMAF_ERR_PREDICT", "the result of " + fn + "() in " + where() + " cannot be turned into JSON: " + e.getMessage(), e);
            }
        }
    }

    static Object[][] boxed(double[][] m) {
        Object[][] out = new Object[m.length][];
        for (int r = 0; r < m.length; r++) {
            out[r] = new Object[m[r].length];
            for (int c = 0; c < m[r].length; c++) out[r][c] = m[r][c];
        }
        return out;
    }

    /** A numeric prediction as raw float64 values, or null when it is not a rectangular array of numbers. */
    static final class Binary {
        final int[] shape;
        final String kind;
        final byte[] raw;

        private Binary(int[] shape, String kind, byte[] raw) {
            this.shape = shape;
            this.kind = kind;
            this.raw = raw;
        }

        static Binary of(Object p) {
            if (p == null || !p.getClass().isArray()) return null;
            Class<?> c = p.getClass().getComponentType();
            int rows = Array.getLength(p);
            if (c.isPrimitive()) return vector(p, c, rows);
            if (!c.isArray() || !c.getComponentType().isPrimitive() || rows == 0) return null;
            Class<?> e = c.getComponentType();
            if (e == char.class) return null;
            int cols = -1;
            for (int r = 0; r < rows; r++) {
                Object row = Array.get(p, r);
                if (row == null) return null;
                int n = Array.getLength(row);
                if (cols >= 0 && n != cols) return null;
                cols = n;
            }
            ByteBuffer buf = ByteBuffer.allocate(rows * cols * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (int r = 0; r < rows; r++) if (!put(buf, Array.get(p, r), e, cols)) return null;
            return new Binary(new int[] {rows, cols}, kindOf(e), buf.array());
        }

        private static Binary vector(Object p, Class<?> e, int n) {
            if (e == char.class || n == 0) return null;
            ByteBuffer buf = ByteBuffer.allocate(n * 8).order(ByteOrder.LITTLE_ENDIAN);
            if (!put(buf, p, e, n)) return null;
            return new Binary(new int[] {n}, kindOf(e), buf.array());
        }

        private static String kindOf(Class<?> e) {
            if (e == boolean.class) return "b";
            if (e == double.class || e == float.class) return "f";
            return "i";
        }

        private static boolean put(ByteBuffer buf, Object row, Class<?> e, int n) {
            if (e == double.class) for (double v : (double[]) row) buf.putDouble(v);
            else if (e == float.class) for (float v : (float[]) row) buf.putDouble(v);
            else if (e == int.class) for (int v : (int[]) row) buf.putDouble(v);
            else if (e == short.class) for (short v : (short[]) row) buf.putDouble(v);
            else if (e == byte.class) for (byte v : (byte[]) row) buf.putDouble(v);
            else if (e == boolean.class) for (boolean v : (boolean[]) row) buf.putDouble(v ? 1 : 0);
            else if (e == long.class) {
                for (long v : (long[]) row) {
                    if (v > MAX_EXACT_INT || v < -MAX_EXACT_INT) return false;
                    buf.putDouble(v);
                }
            } else return false;
            return true;
        }
    }

    static String stackTrace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }

    static String describe(Object v) {
        if (v == null) return "null";
        String text;
        try {
            text = v instanceof String ? Json.write(v) : String.valueOf(v);
        } catch (RuntimeException e) { // a broken toString() must not hide the real problem
            text = "";
        }
        String type = v.getClass().getSimpleName();
        return text.length() > 200 ? type + " " + text.substring(0, 200) + "..." : type + " " + text;
    }

    // -----------------------------------------------------------------------------------------------------------
    // Requests
    // -----------------------------------------------------------------------------------------------------------

    /** The matrix of a 'b' request: {double[][], columns, int flag}. */
    static Object[] binaryMatrix(byte[] body) {
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = b.getInt(0);
        @SuppressWarnings("unchecked")
        Map<String, Object> header = (Map<String, Object>) Json.parse(new String(body, 4, headerLength, StandardCharsets.UTF_8));
        List<?> shape = (List<?>) header.get("shape");
        int rows = ((Number) shape.get(0)).intValue();
        int cols = ((Number) shape.get(1)).intValue();
        int at = 4 + headerLength;
        at += (8 - at % 8) % 8;
        double[][] m = new double[rows][cols];
        b.position(at);
        java.nio.DoubleBuffer d = b.slice().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
        for (int r = 0; r < rows; r++) d.get(m[r]);
        return new Object[] {m, columns(header.get("columns")), Boolean.TRUE.equals(header.get("int"))};
    }

    static String[] columns(Object v) {
        if (!(v instanceof List)) return null;
        List<?> l = (List<?>) v;
        String[] out = new String[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = String.valueOf(l.get(i));
        return out;
    }

    static int serve(String jarPath) throws IOException {
        Channel ch = takeChannel();
        watchParent();
        ignoreInterrupt();
        Model model = new Model(new File(jarPath).getAbsolutePath());
        try {
            Map<String, Object> ready = model.load();
            ch.writeJson(T_READY, 0, Json.write(ready));
        } catch (ModelError e) {
            ch.writeJson(T_FAILED, 0, errorJson(e.code, e.getMessage(), e.trace));
            return 1;
        } catch (Throwable e) { // e.g. an info() answer that cannot be encoded
            ch.writeJson(T_FAILED, 0, errorJson("OMAF_ERR_MODEL_INIT", String.valueOf(e), stackTrace(e)));
            return 1;
        }

        while (true) {
            Object[] frame = ch.read();
            if (frame == null) return 0;
            byte type = (byte) frame[0];
            int id = (int) frame[1];
            byte[] body = (byte[]) frame[2];
            try {
                if (type == T_MATRIX_BINARY) {
                    Object[] m = binaryMatrix(body);
                    double[][] numbers = (double[][]) m[0];
                    // All-integer matrices reach an Object[][] method as Longs, the way JSON numbers without a fraction do.
                    Object[][] values = (boolean) m[2] && model.matrixNumeric == null ? longs(numbers) : null;
                    model.predictMatrix(numbers, values, (String[]) m[1], ch, id);
                } else if (type == T_MATRIX_JSON) {
                    Map<?, ?> request = (Map<?, ?>) Json.parse(new String(body, StandardCharsets.UTF_8));
                    Object[][] values = rows(request.get("data"));
                    model.predictMatrix(numeric(values), values, columns(request.get("columns")), ch, id);
                } else if (type == T_OBJECTS) {
                    model.predictObjects(Json.parse(new String(body, StandardCharsets.UTF_8)), ch, id);
                } else {
                    throw new ModelError("OMAF_ERR_INTERNAL", "unknown request type " + (char) type, null);
                }
            } catch (ModelError e) {
                if (e.trace != null) System.err.print(e.trace);
                ch.writeJson(T_ERROR, id, errorJson(e.code, e.getMessage(), e.trace));
            } catch (RuntimeException | StackOverflowError e) {
                ch.writeJson(T_ERROR, id, errorJson("OMAF_ERR_INTERNAL", String.valueOf(e), stackTrace(e)));
            }
        }
    }

    static Object[][] longs(double[][] m) {
        Object[][] out = new Object[m.length][];
        for (int r = 0; r < m.length; r++) {
            out[r] = new Object[m[r].length];
            for (int c = 0; c < m[r].length; c++) out[r][c] = (long) m[r][c];
        }
        return out;
    }

    static Object[][] rows(Object data) {
        List<?> rows = (List<?>) data;
        Object[][] out = new Object[rows.size()][];
        for (int r = 0; r < out.length; r++) out[r] = ((List<?>) rows.get(r)).toArray();
        return out;
    }

    /** The matrix as doubles when every value is a number, else null. */
    static double[][] numeric(Object[][] values) {
        double[][] out = new double[values.length][];
        for (int r = 0; r < values.length; r++) {
            out[r] = new double[values[r].length];
            for (int c = 0; c < values[r].length; c++) {
                if (!(values[r][c] instanceof Number)) return null;
                out[r][c] = ((Number) values[r][c]).doubleValue();
            }
        }
        return out;
    }

    static String errorJson(String code, String message, String trace) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("code", code);
        e.put("message", message);
        e.put("traceback", trace);
        return Json.write(e);
    }

    // -----------------------------------------------------------------------------------------------------------
    // JSON: just what the protocol needs (objects mode, info, headers); plain Java types in and out
    // -----------------------------------------------------------------------------------------------------------

    static final class Json {
        private final String s;
        private int i;
        private int depth;

        private Json(String s) {
            this.s = s;
        }

        /** Objects become LinkedHashMap, arrays ArrayList, integers Long (Double past 2^63), other numbers Double. */
        static Object parse(String text) {
            Json p = new Json(text);
            p.space();
            Object v = p.value();
            p.space();
            if (p.i != text.length()) throw p.error("unexpected text after the value");
            return v;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("bad JSON at offset " + i + ": " + what);
        }

        private void space() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
                i++;
            }
        }

        private Object value() {
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            switch (c) {
                case '{':
                    return object();
                case '[':
                    return array();
                case '"':
                    return string();
                case 't':
                    return word("true", Boolean.TRUE);
                case 'f':
                    return word("false", Boolean.FALSE);
                case 'n':
                    return word("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    // Python's json module writes these; read them as null as omaf does everywhere.
                    if (s.startsWith("NaN", i)) return word("NaN", null);
                    if (s.startsWith("Infinity", i)) return word("Infinity", null);
                    throw error("unexpected character '" + c + "'");
            }
        }

        private Object word(String w, Object v) {
            if (!s.startsWith(w, i)) throw error("expected " + w);
            i += w.length();
            return v;
        }

        private Map<String, Object> object() {
            if (++depth > 512) throw error("nested too deeply");
            i++;
            Map<String, Object> m = new LinkedHashMap<>();
            space();
            if (i < s.length() && s.charAt(i) == '}') {
                i++;
                depth--;
                return m;
            }
            while (true) {
                space();
                if (i >= s.length() || s.charAt(i) != '"') throw error("expected a key");
                String k = string();
                space();
                if (i >= s.length() || s.charAt(i) != ':') throw error("expected ':'");
                i++;
                space();
                m.put(k, value());
                space();
                if (i >= s.length()) throw error("unexpected end");
                char c = s.charAt(i++);
                if (c == '}') break;
                if (c != ',') throw error("expected ',' or '}'");
            }
            depth--;
            return m;
        }

        private List<Object> array() {
            if (++depth > 512) throw error("nested too deeply");
            i++;
            List<Object> l = new ArrayList<>();
            space();
            if (i < s.length() && s.charAt(i) == ']') {
                i++;
                depth--;
                return l;
            }
            while (true) {
                space();
                l.add(value());
                space();
                if (i >= s.length()) throw error("unexpected end");
                char c = s.charAt(i++);
                if (c == ']') break;
                if (c != ',') throw error("expected ',' or ']'");
            }
            depth--;
            return l;
        }

        private String string() {
            i++;
            StringBuilder b = null;
            int start = i;
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i);
                if (c == '"') {
                    String out = b == null ? s.substring(start, i) : b.append(s, start, i).toString();
                    i++;
                    return out;
                }
                if (c == '\\') {
                    if (b == null) b = new StringBuilder();
                    b.append(s, start, i);
                    if (++i >= s.length()) throw error("unterminated escape");
                    char e = s.charAt(i++);
                    switch (e) {
                        case '"': b.append('"'); break;
                        case '\\': b.append('\\'); break;
                        case '/': b.append('/'); break;
                        case 'b': b.append('\b'); break;
                        case 'f': b.append('\f'); break;
                        case 'n': b.append('\n'); break;
                        case 'r': b.append('\r'); break;
                        case 't': b.append('\t'); break;
                        case 'u':
                            if (i + 4 > s.length()) throw error("short \\u escape");
                            try {
                                b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            } catch (NumberFormatException x) {
                                throw error("bad \\u escape");
                            }
                            i += 4;
                            break;
                        default:
                            throw error("bad escape \\" + e);
                    }
                    start = i;
                } else {
                    i++;
                }
            }
        }

        private Object number() {
            int start = i;
            boolean integral = true;
            if (s.charAt(i) == '-') i++;
            if (s.startsWith("Infinity", i)) {
                i += 8;
                return null;
            }
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c >= '0' && c <= '9') i++;
                else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
                    integral = false;
                    i++;
                } else break;
            }
            String t = s.substring(start, i);
            try {
                if (integral) {
                    try {
                        return Long.parseLong(t);
                    } catch (NumberFormatException tooLong) {
                        return Double.parseDouble(t);
                    }
                }
                return Double.parseDouble(t);
            } catch (NumberFormatException e) {
                throw error("bad number " + t);
            }
        }

        /** JSON text of plain Java values: Map, Iterable, arrays, CharSequence, Number, Boolean, Character, Enum, null. */
        static String write(Object v) {
            StringBuilder b = new StringBuilder();
            write(b, v, 0);
            return b.toString();
        }

        static String number(double d) {
            if (Double.isNaN(d) || Double.isInfinite(d)) return "null";
            if (d == Math.rint(d) && Math.abs(d) < 1e15) return Long.toString((long) d);
            return Double.toString(d);
        }

        private static void write(StringBuilder b, Object v, int depth) {
            if (depth > 512) throw new IllegalArgumentException("the value is nested too deeply (a cycle?)");
            if (v == null) b.append("null");
            else if (v instanceof CharSequence || v instanceof Character) quote(b, v.toString());
            else if (v instanceof Boolean) b.append(v);
            else if (v instanceof Double || v instanceof Float) b.append(number(((Number) v).doubleValue()));
            else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) b.append(v);
            else if (v instanceof java.math.BigInteger) b.append(v);
            else if (v instanceof Number) b.append(number(((Number) v).doubleValue()));
            else if (v instanceof Enum) quote(b, ((Enum<?>) v).name());
            else if (v instanceof Map) {
                b.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                    if (!first) b.append(',');
                    first = false;
                    quote(b, String.valueOf(e.getKey()));
                    b.append(':');
                    write(b, e.getValue(), depth + 1);
                }
                b.append('}');
            } else if (v instanceof Iterable) {
                b.append('[');
                boolean first = true;
                for (Object o : (Iterable<?>) v) {
                    if (!first) b.append(',');
                    first = false;
                    write(b, o, depth + 1);
                }
                b.append(']');
            } else if (v.getClass().isArray()) {
                b.append('[');
                int n = Array.getLength(v);
                for (int k = 0; k < n; k++) {
                    if (k > 0) b.append(',');
                    write(b, Array.get(v, k), depth + 1);
                }
                b.append(']');
            } else if (v instanceof java.time.temporal.TemporalAccessor || v instanceof java.util.UUID) {
                quote(b, v.toString());
            } else {
                throw new IllegalArgumentException("a " + v.getClass().getName() + " cannot be written as JSON (use Map, List, arrays, String, Number, Boolean)");
            }
        }

        private static void quote(StringBuilder b, String s) {
            b.append('"');
            for (int k = 0; k < s.length(); k++) {
                char c = s.charAt(k);
                switch (c) {
                    case '"': b.append("\\\""); break;
                    case '\\': b.append("\\\\"); break;
                    case '\n': b.append("\\n"); break;
                    case '\r': b.append("\\r"); break;
                    case '\t': b.append("\\t"); break;
                    default:
                        if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                        else b.append(c);
                }
            }
            b.append('"');
        }
    }
}
