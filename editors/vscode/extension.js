// The VS Code client of `btl lsp`: starts the language server over stdio for .btl files.
// The server does the work (diagnostics, hover, definition, inlay hints, code lens, symbols,
// completion); this file only starts it, with the executable from the `btl.path` setting.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("btl").get("path") || "btl";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "btl",
    "btl",
    { run: server, debug: server },
    {
      documentSelector: [{ language: "btl" }],
    }
  );
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("btl.path")) {
        vscode.window.showInformationMessage("btl.path changed: reload the window to use it.");
      }
    })
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
