// Java sources of the test models: plain Java, no omaf library, found by the Omaf-Model-Class attribute.
export const SOURCES: Record<string, string> = {
  // Matrix mode over doubles: answers each row's sum and the row doubled; 13 halts the JVM, 7 hangs, a print
  // goes to System.out (which must not reach the frame channel).
  "test/Sum.java": `package test;
import java.util.*;
public class Sum {
  public String init() { System.out.println("Sum ready"); return "matrix"; }
  public Object[] predictOnMatrix(double[][] rows, String[] columns) throws Exception {
    double[][] out = new double[rows.length][2];
    for (int r = 0; r < rows.length; r++) {
      double s = 0;
      for (double v : rows[r]) {
        if (v == 13) Runtime.getRuntime().halt(3);
        if (v == 7) Thread.sleep(60_000);
        if (v == 99) throw new IllegalStateException("ninety-nine");
        s += v;
      }
      out[r][0] = s;
      out[r][1] = rows[r][0] * 2;
      System.out.println("predicted row " + r);
      System.out.print("{\\"not\\": \\"a frame\\"}");
    }
    return new Object[] {out, new String[] {"sum", "double_first"}};
  }
  public Object[] info() {
    Map<String, Object> a = new LinkedHashMap<>(); a.put("name", "a"); a.put("type", "number"); a.put("example", 1);
    Map<String, Object> b = new LinkedHashMap<>(); b.put("name", "b"); b.put("type", "double"); b.put("example", 2);
    Map<String, Object> s = new LinkedHashMap<>(); s.put("name", "sum"); s.put("type", "number");
    Map<String, Object> d = new LinkedHashMap<>(); d.put("name", "double_first"); d.put("type", "number");
    return new Object[] {List.of(a, b), List.of(s, d)};
  }
}
`,
  // Matrix mode over any values: echoes the rows with each value's Java type, and the columns it was given.
  "test/Types.java": `package test;
import java.util.*;
public class Types {
  public String init() { return "matrix"; }
  public Map<String, Object> predictOnMatrix(Object[][] rows, String[] columns) {
    List<List<Object>> out = new ArrayList<>();
    for (Object[] row : rows) {
      List<Object> r = new ArrayList<>();
      for (Object v : row) r.add(v == null ? "null" : v.getClass().getSimpleName() + ":" + v);
      out.add(r);
    }
    Map<String, Object> m = new HashMap<>();
    m.put("prediction", out);
    m.put("columns", columns == null ? null : Arrays.asList(columns));
    return m;
  }
}
`,
  // Objects mode: answers what it got, with a system property, the working directory and MODEL_LOCATION.
  "test/Echo.java": `package test;
import java.util.*;
public class Echo {
  public String init() { return "objects"; }
  public Object predictOnObjects(Object input) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("input", input);
    m.put("type", input == null ? "null" : input.getClass().getSimpleName());
    m.put("property", System.getProperty("omaf.test"));
    m.put("cwd", System.getProperty("user.dir"));
    m.put("location", System.getenv("MODEL_LOCATION"));
    m.put("nan", Double.NaN);
    m.put("array", new int[] {1, 2});
    return m;
  }
  public Map<String, Object> getObjectInputType() { return Map.of("type", "object"); }
  public static String getObjectOutputType() { return "anything"; }
}
`,
  // Objects mode with its own serializer (what a model with Jackson or Gson would hand over).
  "test/Serialized.java": `package test;
import java.util.function.Function;
public class Serialized {
  public String init() { return "objects"; }
  public Object predictOnObjects(Object input) { return input; }
  public Function<Object, String> getOutputJsonSerializer() {
    return v -> "{\\"wrapped\\":" + (v instanceof String ? "\\"" + v + "\\"" : "not json") + "}";
  }
}
`,
  "test/InitFails.java": `package test;
public class InitFails {
  public String init() { throw new IllegalStateException("weights are missing", new java.io.FileNotFoundException("weights.bin")); }
}
`,
  "test/BadMode.java": `package test;
public class BadMode {
  public String init() { return "tensors"; }
}
`,
  "test/NoInit.java": `package test;
public class NoInit {
  public Object predictOnObjects(Object o) { return o; }
}
`,
  "test/NoPredict.java": `package test;
public class NoPredict {
  public String init() { return "matrix"; }
}
`,
};
