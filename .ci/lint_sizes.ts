// A deno lint plugin that keeps the module's units small: no source file over 600 lines and no
// function over 60 (comments and docs count). Tests, benchmarks, examples and CI scripts are
// left alone. Where a unit has to be larger, say why where it is:
//
//   // deno-lint-ignore small-units/max-function-lines -- one function on purpose: bench row 1
//
// (a file: `// deno-lint-ignore-file small-units/max-file-lines -- why`, after the module doc).

/** The most lines of a source file. */
export const MAX_FILE_LINES = 600;
/** The most lines of a function, method, accessor or static block, signature included. */
export const MAX_FUNCTION_LINES = 60;

const OUTSIDE = /(^|\/)(tests|bench|examples|\.ci)\//;

/** The number of lines a span of `text` covers. */
export function linesOf(text: string, start: number, end: number): number {
  let lines = 1;
  for (let i = text.indexOf("\n", start); i !== -1 && i < end; i = text.indexOf("\n", i + 1)) {
    lines++;
  }
  return lines;
}

function isSource(filename: string): boolean {
  return filename.endsWith(".ts") && !OUTSIDE.test(filename.replaceAll("\\", "/"));
}

const plugin: Deno.lint.Plugin = {
  name: "small-units",
  rules: {
    "max-file-lines": {
      create(context) {
        return {
          Program(node) {
            if (!isSource(context.filename)) return;
            const text = context.sourceCode.text;
            const lines = linesOf(text, 0, text.trimEnd().length);
            if (lines <= MAX_FILE_LINES) return;
            context.report({
              range: [0, Math.min(text.indexOf("\n"), text.length)],
              message: `This file has ${lines} lines, more than ${MAX_FILE_LINES}`,
              hint:
                "Split it by what each part does, or say why it is one unit in an ignore comment",
            });
            void node;
          },
        };
      },
    },
    "max-function-lines": {
      create(context) {
        const check = (node: Deno.lint.Node, name: string): void => {
          if (!isSource(context.filename)) return;
          const [start, end] = node.range;
          const lines = linesOf(context.sourceCode.text, start, end);
          if (lines <= MAX_FUNCTION_LINES) return;
          context.report({
            node,
            message: `${name} has ${lines} lines, more than ${MAX_FUNCTION_LINES}`,
            hint:
              "Split it by what each part does; where the hot path needs it, say so with the bench row",
          });
        };
        return {
          FunctionDeclaration(node) {
            check(node, `Function ${node.id?.name ?? "(default)"}`);
          },
          MethodDefinition(node) {
            const key = node.key;
            const name = key.type === "Identifier" || key.type === "PrivateIdentifier"
              ? `${key.type === "PrivateIdentifier" ? "#" : ""}${key.name}`
              : "(computed)";
            check(node, node.kind === "constructor" ? "The constructor" : `Method ${name}`);
          },
          StaticBlock(node) {
            check(node, "A static block");
          },
          ArrowFunctionExpression(node) {
            check(node, "An arrow function");
          },
          FunctionExpression(node) {
            if (node.parent?.type !== "MethodDefinition") check(node, "A function expression");
          },
        };
      },
    },
  },
};

export default plugin;
