// GraphiQL's start (web/graphiql.py puts it inline, allowed by its hash in the page's policy):
// queries to this page's own address, subscriptions over a websocket to the same address.
(function () {
  "use strict";
  var parameters = {};
  window.location.search
    .slice(1)
    .split("&")
    .forEach(function (entry) {
      var eq = entry.indexOf("=");
      if (eq >= 0) {
        parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(
          entry.slice(eq + 1).replace(/\+/g, " "),
        );
      }
    });

  function updateURL(data) {
    Object.assign(parameters, data);
    var search = Object.keys(parameters)
      .filter(function (key) {
        return Boolean(parameters[key]);
      })
      .map(function (key) {
        return encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]);
      })
      .join("&");
    history.replaceState(null, "", "?" + search);
  }

  var fetchURL = window.location.href.split("?")[0].split("#")[0];
  var socketURL = new URL(fetchURL);
  socketURL.protocol = socketURL.protocol === "https:" ? "wss:" : "ws:";

  var fetcher = GraphiQL.createFetcher({ url: fetchURL, subscriptionUrl: socketURL.toString() });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function Page() {
    var query = React.useState(parameters.q || "# Viết truy vấn GraphQL ở đây, rồi nhấn ▶ (Ctrl-Enter).\n");
    var variables = React.useState(parameters.variables);
    var headers = React.useState(parameters.headers);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorer],
      query: query[0],
      variables: variables[0],
      headers: headers[0],
      onEditQuery: function (value) {
        query[1](value);
        updateURL({ q: value });
      },
      onEditVariables: function (value) {
        variables[1](value);
        updateURL({ variables: value });
      },
      onEditHeaders: headers[1],
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();
