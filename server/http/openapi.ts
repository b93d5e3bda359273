// The OpenAPI 3.1 documents of the agent API and of the HTTP gateway contract (docs/openapi/), served as they are in
// the repository: GET /api/openapi.json (agent API) and GET /api/openapi/gateway-http.json. test/openapi.test.ts checks
// real answers and real gateway requests against them.
import agentApi from "../../docs/openapi/agent-api.json";
import gatewayHttp from "../../docs/openapi/gateway-http.json";

export const OPENAPI_DOCUMENTS: Record<string, unknown> = {
  "/api/openapi.json": agentApi,
  "/api/openapi/agent-api.json": agentApi,
  "/api/openapi/gateway-http.json": gatewayHttp,
};
