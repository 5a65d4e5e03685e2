// GPPI objects model: {text} objects in, {label, score, positive, negative} objects out.
// A word counter, not a real sentiment model: it shows the objects mode and its optional functions.

const POSITIVE = new Set(["good", "great", "excellent", "love", "like", "nice", "happy", "fast", "best", "wonderful"]);
const NEGATIVE = new Set(["bad", "awful", "terrible", "hate", "slow", "poor", "broken", "worst", "sad", "boring"]);

export function init() {
  return "objects";
}

function classify(item) {
  if (!item || typeof item.text !== "string") throw new Error("each object needs a 'text' string");
  let positive = 0;
  let negative = 0;
  for (const word of item.text.toLowerCase().match(/[a-z']+/g) ?? []) {
    if (POSITIVE.has(word)) positive++;
    else if (NEGATIVE.has(word)) negative++;
  }
  const score = positive - negative;
  return { label: score > 0 ? "positive" : score < 0 ? "negative" : "neutral", score, positive, negative };
}

/** One object or a list of objects; answers the same shape. */
export function predict_on_objects(objects) {
  return Array.isArray(objects) ? objects.map(classify) : classify(objects);
}

export function get_info() {
  return {
    input: [{ name: "text", type: "string", required: true, example: "great product, fast delivery" }],
    output: [
      { name: "label", type: "string", example: "positive" },
      { name: "score", type: "integer", example: 2 },
      { name: "positive", type: "integer", example: 2 },
      { name: "negative", type: "integer", example: 0 },
    ],
  };
}

export function get_object_input_type() {
  return { type: "object", required: ["text"], properties: { text: { type: "string" } } };
}

export function get_object_output_type() {
  return {
    type: "object",
    properties: {
      label: { enum: ["positive", "negative", "neutral"] },
      score: { type: "integer" },
      positive: { type: "integer" },
      negative: { type: "integer" },
    },
  };
}
