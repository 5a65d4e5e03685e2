import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * Trains the java-iris model: multinomial logistic regression on standardised measurements, full-batch gradient
 * descent from zero weights (no randomness, so the weights are the same on every run), and writes weights.txt.
 *     java Train data/iris.csv model/weights.txt
 */
public class Train {
    static final int EPOCHS = 3000;
    static final double RATE = 0.5;
    static final double L2 = 1e-3;

    public static void main(String[] args) throws IOException {
        List<double[]> xs = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        List<String> lines = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) continue;
            String[] p = line.split(",");
            xs.add(new double[] {Double.parseDouble(p[0]), Double.parseDouble(p[1]), Double.parseDouble(p[2]), Double.parseDouble(p[3])});
            labels.add(p[4]);
            if (!classes.contains(p[4])) classes.add(p[4]);
        }
        int n = xs.size(), d = 4, k = classes.size();
        double[] mean = new double[d], std = new double[d];
        for (double[] x : xs) for (int f = 0; f < d; f++) mean[f] += x[f] / n;
        for (double[] x : xs) for (int f = 0; f < d; f++) std[f] += (x[f] - mean[f]) * (x[f] - mean[f]) / n;
        for (int f = 0; f < d; f++) std[f] = Math.sqrt(std[f]);
        double[][] z = new double[n][d];
        for (int i = 0; i < n; i++) for (int f = 0; f < d; f++) z[i][f] = (xs.get(i)[f] - mean[f]) / std[f];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = classes.indexOf(labels.get(i));

        double[][] w = new double[k][d + 1]; // bias first
        for (int epoch = 0; epoch < EPOCHS; epoch++) {
            double[][] grad = new double[k][d + 1];
            for (int i = 0; i < n; i++) {
                double[] p = softmax(w, z[i]);
                for (int c = 0; c < k; c++) {
                    double g = p[c] - (y[i] == c ? 1 : 0);
                    grad[c][0] += g / n;
                    for (int f = 0; f < d; f++) grad[c][f + 1] += g * z[i][f] / n;
                }
            }
            for (int c = 0; c < k; c++) {
                w[c][0] -= RATE * grad[c][0];
                for (int f = 1; f <= d; f++) w[c][f] -= RATE * (grad[c][f] + L2 * w[c][f]);
            }
        }
        int right = 0;
        for (int i = 0; i < n; i++) {
            double[] p = softmax(w, z[i]);
            int best = 0;
            for (int c = 1; c < k; c++) if (p[c] > p[best]) best = c;
            if (best == y[i]) right++;
        }
        StringBuilder out = new StringBuilder("# java-iris: multinomial logistic regression, written by train/Train.java\n");
        out.append("mean").append(join(mean)).append('\n').append("std").append(join(std)).append('\n');
        for (int c = 0; c < k; c++) out.append("class ").append(classes.get(c)).append(join(w[c])).append('\n');
        Path target = Paths.get(args[1]);
        Files.createDirectories(target.toAbsolutePath().getParent());
        Files.writeString(target, out.toString(), StandardCharsets.UTF_8);
        System.out.printf("trained on %d rows: %d correct (%.1f%%)%n", n, right, 100.0 * right / n);
    }

    static double[] softmax(double[][] w, double[] x) {
        double[] s = new double[w.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < w.length; c++) {
            s[c] = w[c][0];
            for (int f = 0; f < x.length; f++) s[c] += w[c][f + 1] * x[f];
            max = Math.max(max, s[c]);
        }
        double sum = 0;
        for (int c = 0; c < w.length; c++) sum += s[c] = Math.exp(s[c] - max);
        for (int c = 0; c < w.length; c++) s[c] /= sum;
        return s;
    }

    static String join(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double x : v) b.append(' ').append(x);
        return b.toString();
    }
}
