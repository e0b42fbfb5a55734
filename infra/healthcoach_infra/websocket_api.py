"""The WebSocket API and its stage: routes to the handlers, throttling, token-free access logs."""

from __future__ import annotations

import json
from collections.abc import Mapping

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from healthcoach_infra.throttles import StageThrottles, stage_throttles

__all__ = ["ACCESS_LOG_FIELDS", "RealtimeWebSocketApi"]

# Routes the API is constructed with; any other key is added as a custom route.
_BUILT_IN_ROUTES = ("$connect", "$disconnect", "$default")

# Only $context variables: none of them carries the query string (``?token=``) or a header
# (``Sec-WebSocket-Protocol: healthcoach.v1, <jwt>``), so the token can never reach the log.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "connectionId": "$context.connectionId",
    "eventType": "$context.eventType",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integration.status",
    "error": "$context.error.message",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """Where and how the stage writes access logs (the L2 takes an interface, not a struct)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        """The log group."""
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        """One JSON object per line."""
        return self._format


class RealtimeWebSocketApi(Construct):
    """``$connect``, ``$disconnect``, ``$default`` and any custom route key, one stage.

    Authentication happens in the ``$connect`` function (a 401 from it refuses the handshake), so
    no route carries an API Gateway authorizer; messages only ever arrive on accepted connections.
    The stage's throttles come from ``throttles.stage_throttles``: the default route settings
    (``$connect``, ``$disconnect``) take the handshake rate, ``$default`` its own message rate.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        routes: Mapping[str, lambda_.IFunction],
        throttles: StageThrottles | None = None,
        create_account_log_role: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.stage_name = stage_name
        connect, disconnect, default = routes["$connect"], routes["$disconnect"], routes["$default"]
        self.throttles = throttles or stage_throttles()
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"healthcoach-realtime-{stage_name}",
            description="HealthCoach Realtime: per-user push of domain events",
            connect_route_options=apigwv2.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("Connect", connect)
            ),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("Disconnect", disconnect)
            ),
            default_route_options=apigwv2.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DefaultRoute", default)
            ),
        )
        for key, function in routes.items():
            if key not in _BUILT_IN_ROUTES:
                self.api.add_route(
                    key, integration=integrations.WebSocketLambdaIntegration(f"{key}Route", function)
                )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=stage_name,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=self.throttles.connect.rate, burst_limit=self.throttles.connect.burst
            ),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))),
            ),
        )
        self._disable_execution_logs()
        self._throttle_default_route()
        if create_account_log_role:
            self._set_account_log_role()

    def _disable_execution_logs(self) -> None:
        """Execution logs (with data trace) can record the request, hence the token: off, explicitly."""
        stage = self.stage.node.default_child
        assert isinstance(stage, apigwv2.CfnStage)
        stage.add_property_override("DefaultRouteSettings.DataTraceEnabled", False)
        stage.add_property_override("DefaultRouteSettings.LoggingLevel", "OFF")

    def _throttle_default_route(self) -> None:
        """``$default`` carries every client's messages: its own rate, not the handshakes'."""
        stage = self.stage.node.default_child
        assert isinstance(stage, apigwv2.CfnStage)
        throttle = self.throttles.default
        stage.add_property_override(
            "RouteSettings",
            {
                "$default": {
                    "ThrottlingRateLimit": throttle.rate,
                    "ThrottlingBurstLimit": throttle.burst,
                    "DataTraceEnabled": False,
                    "LoggingLevel": "OFF",
                }
            },
        )
        # Route settings name a route key: the stage may only be created once the route exists.
        route = self.api.node.find_child("$default-Route")
        self.stage.node.add_dependency(route)

    def _set_account_log_role(self) -> None:
        """API Gateway writes WebSocket access logs only once the account has a CloudWatch role.

        The role and the setting are per account and region, shared by every API there, so both
        outlive this stack (as ``RestApi``'s own ``cloudWatchRole`` does).
        """
        self.account_log_policy = iam.ManagedPolicy.from_aws_managed_policy_name(
            "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
        )
        self.account_log_role = iam.Role(
            self,
            "AccountLogRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[self.account_log_policy],
        )
        self.account_log_role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.account_log_role.role_arn)
        account.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.stage.node.add_dependency(account)

    @property
    def url(self) -> str:
        """What browsers connect to: ``wss://<api-id>.execute-api.<region>.amazonaws.com/<stage>``."""
        return self.stage.url

    @property
    def management_endpoint(self) -> str:
        """``WS_API_ENDPOINT``: ``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>``."""
        return self.stage.callback_url

    def connections_arn(self, method: str) -> str:
        """The @connections resource of this API's stage only, for one HTTP method."""
        return cdk.Stack.of(self).format_arn(
            service="execute-api",
            resource=self.api.api_id,
            resource_name=f"{self.stage_name}/{method}/@connections/*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_post_to_connection(self, grantee: iam.IGrantable) -> iam.Grant:
        """``execute-api:ManageConnections``, for ``POST @connections/{id}`` on this stage only."""
        return self.grant_manage_connections(grantee, "POST")

    def grant_manage_connections(self, grantee: iam.IGrantable, *methods: str) -> iam.Grant:
        """``execute-api:ManageConnections`` for these methods of ``@connections/{id}`` (``POST``
        posts, ``GET`` describes, ``DELETE`` closes) on this stage only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:ManageConnections"],
            resource_arns=[self.connections_arn(method) for method in methods],
        )
