package example.iris;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GJPI model of the java-iris example (spec/gjpi.md): multinomial logistic regression on the four iris measurements.
 * Plain Java only; the weights are read from weights.txt in MODEL_LOCATION (the artifact's model.workDir).
 */
public class IrisModel {
    static final String[] FEATURES = {"sepal_length", "sepal_width", "petal_length", "petal_width"};

    private double[] mean;
    private double[] std;
    private final List<String> classes = new ArrayList<>();
    private final List<double[]> weights = new ArrayList<>(); // per class: bias, then one weight per feature

    /** Loads the trained weights; this model predicts on matrices. */
    public String init() throws IOException {
        String location = System.getenv("MODEL_LOCATION");
        Path file = Paths.get(location == null ? "." : location, "weights.txt");
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] p = line.trim().split("\\s+");
            if (p[0].equals("mean")) mean = numbers(p, 1);
            else if (p[0].equals("std")) std = numbers(p, 1);
            else if (p[0].equals("class")) {
                classes.add(p[1]);
                weights.add(numbers(p, 2));
            }
        }
        if (mean == null || std == null || classes.isEmpty()) throw new IOException(file + " holds no trained weights");
        return "matrix";
    }

    /**
     * Rows of the four measurements → {[[species], ...], ["species"]}. With column names the columns may come in any
     * order: they are matched to the features by name.
     */
    public Object[] predictOnMatrix(double[][] rows, String[] columns) {
        int[] at = order(columns);
        String[][] out = new String[rows.length][];
        for (int r = 0; r < rows.length; r++) {
            double[] x = new double[FEATURES.length];
            for (int f = 0; f < x.length; f++) {
                double v = rows[r][at[f]];
                if (v < 0) throw new IllegalArgumentException("measurements cannot be negative (row " + r + ")");
                x[f] = (v - mean[f]) / std[f];
            }
            out[r] = new String[] {classes.get(best(x))};
        }
        return new Object[] {out, new String[] {"species"}};
    }

    /** Input and output schemas. */
    public Object[] info() {
        double[] examples = {5.1, 3.5, 1.4, 0.2};
        List<Map<String, Object>> inputs = new ArrayList<>();
        for (int f = 0; f < FEATURES.length; f++) inputs.add(field(FEATURES[f], "number", examples[f]));
        return new Object[] {inputs, List.of(field("species", "string", "setosa"))};
    }

    private int best(double[] x) {
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < weights.size(); k++) {
            double[] w = weights.get(k);
            double score = w[0];
            for (int f = 0; f < x.length; f++) score += w[f + 1] * x[f];
            if (score > bestScore) {
                bestScore = score;
                best = k;
            }
        }
        return best;
    }

    private static int[] order(String[] columns) {
        int[] at = {0, 1, 2, 3};
        if (columns == null) return at;
        for (int f = 0; f < FEATURES.length; f++) {
            at[f] = List.of(columns).indexOf(FEATURES[f]);
            if (at[f] < 0) throw new IllegalArgumentException("missing column: " + FEATURES[f]);
        }
        return at;
    }

    private static Map<String, Object> field(String name, String type, Object example) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("type", type);
        m.put("required", true);
        m.put("example", example);
        return m;
    }

    private static double[] numbers(String[] p, int from) {
        double[] out = new double[p.length - from];
        for (int i = from; i < p.length; i++) out[i - from] = Double.parseDouble(p[i]);
        return out;
    }
}
