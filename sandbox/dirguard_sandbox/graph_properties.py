"""Every structural property Microsoft Graph v1.0 has on the entity types the sandbox lists, by
type name (inherited ones included), generated from Microsoft's CSDL (``v1.0-Prod.csdl``; a
test holds this table to it).

``$select`` may name any of them, as on Graph: a property the sandbox keeps no value for is
answered ``null`` (Graph answers an unset property so). Source: "Use the $select query
parameter" (https://learn.microsoft.com/graph/query-parameters#select-parameter).
"""

from __future__ import annotations

_TABLE = {
    "user": (
        "aboutMe accountEnabled ageGroup assignedLicenses assignedPlans authorizationInfo "
        "birthday businessPhones city companyName consentProvidedForMinor country "
        "createdDateTime creationType customSecurityAttributes deletedDateTime department "
        "deviceEnrollmentLimit displayName employeeHireDate employeeId employeeLeaveDateTime "
        "employeeOrgData employeeType externalUserState externalUserStateChangeDateTime "
        "faxNumber givenName hireDate id identities identityParentId imAddresses interests "
        "isManagementRestricted isResourceAccount jobTitle lastPasswordChangeDateTime "
        "legalAgeGroupClassification licenseAssignmentStates mail mailNickname mailboxSettings "
        "mobilePhone mySite officeLocation onPremisesDistinguishedName onPremisesDomainName "
        "onPremisesExtensionAttributes onPremisesImmutableId onPremisesLastSyncDateTime "
        "onPremisesProvisioningErrors onPremisesSamAccountName onPremisesSecurityIdentifier "
        "onPremisesSyncEnabled onPremisesUserPrincipalName otherMails passwordPolicies "
        "passwordProfile pastProjects postalCode preferredDataLocation preferredLanguage "
        "preferredName print provisionedPlans proxyAddresses responsibilities schools "
        "securityIdentifier serviceProvisioningErrors showInAddressList signInActivity "
        "signInSessionsValidFromDateTime skills state streetAddress surname usageLocation "
        "userPrincipalName userType"
    ),
    "group": (
        "accessType allowExternalSenders assignedLabels assignedLicenses "
        "autoSubscribeNewMembers classification createdDateTime deletedDateTime description "
        "displayName expirationDateTime groupTypes hasMembersWithLicenseErrors "
        "hideFromAddressLists hideFromOutlookClients id infoCatalogs isArchived "
        "isAssignableToRole isFavorite isManagementRestricted isSubscribedByMail "
        "licenseProcessingState mail mailEnabled mailNickname membershipRule "
        "membershipRuleProcessingState onPremisesDomainName onPremisesExtensionAttributes "
        "onPremisesLastSyncDateTime onPremisesNetBiosName onPremisesProvisioningErrors "
        "onPremisesSamAccountName onPremisesSecurityIdentifier onPremisesSyncEnabled "
        "organizationId preferredDataLocation preferredLanguage proxyAddresses renewedDateTime "
        "resourceBehaviorOptions resourceProvisioningOptions securityEnabled securityIdentifier "
        "serviceProvisioningErrors theme uniqueName unseenConversationsCount unseenCount "
        "unseenMessagesCount visibility welcomeMessageEnabled"
    ),
    "application": (
        "addIns api appId appRoles applicationTemplateId authenticationBehaviors certification "
        "createdByAppId createdDateTime defaultRedirectUri deletedDateTime description "
        "disabledByMicrosoftStatus displayName groupMembershipClaims id identifierUris info "
        "isDeviceOnlyAuthSupported isDisabled isFallbackPublicClient keyCredentials logo "
        "managerApplications nativeAuthenticationApisEnabled notes oauth2RequirePostResponse "
        "optionalClaims parentalControlSettings passwordCredentials publicClient "
        "publisherDomain requestSignatureVerification requiredResourceAccess samlMetadataUrl "
        "serviceManagementReference servicePrincipalLockConfiguration signInAudience spa tags "
        "tokenEncryptionKeyId uniqueName verifiedPublisher web"
    ),
    "servicePrincipal": (
        "accountEnabled addIns alternativeNames appDescription appDisplayName appId "
        "appOwnerOrganizationId appRoleAssignmentRequired appRoles applicationTemplateId "
        "createdByAppId customSecurityAttributes deletedDateTime description "
        "disabledByMicrosoftStatus displayName homepage id info isDisabled keyCredentials "
        "loginUrl logoutUrl notes notificationEmailAddresses oauth2PermissionScopes "
        "passwordCredentials preferredSingleSignOnMode preferredTokenSigningKeyThumbprint "
        "replyUrls resourceSpecificApplicationPermissions samlSingleSignOnSettings "
        "servicePrincipalNames servicePrincipalType signInAudience tags tokenEncryptionKeyId "
        "verifiedPublisher"
    ),
    "orgContact": (
        "addresses companyName deletedDateTime department displayName givenName id jobTitle "
        "mail mailNickname onPremisesLastSyncDateTime onPremisesProvisioningErrors "
        "onPremisesSyncEnabled phones proxyAddresses serviceProvisioningErrors surname"
    ),
    "administrativeUnit": (
        "deletedDateTime description displayName id isMemberManagementRestricted membershipRule "
        "membershipRuleProcessingState membershipType visibility"
    ),
    "domain": (
        "authenticationType availabilityStatus id isAdminManaged isDefault isInitial isRoot "
        "isVerified manufacturer model passwordNotificationWindowInDays "
        "passwordValidityPeriodInDays state supportedServices"
    ),
    "customSecurityAttributeDefinition": (
        "attributeSet description id isCollection isSearchable name status type "
        "usePreDefinedValuesOnly"
    ),
    "appRoleAssignment": (
        "appRoleId createdDateTime deletedDateTime id principalDisplayName principalId "
        "principalType resourceDisplayName resourceId"
    ),
    "oAuth2PermissionGrant": ("clientId consentType id principalId resourceId scope"),
    "unifiedRoleAssignment": (
        "appScopeId condition directoryScopeId id principalId principalOrganizationId "
        "roleDefinitionId"
    ),
    "unifiedRoleAssignmentSchedule": (
        "appScopeId assignmentType createdDateTime createdUsing directoryScopeId id memberType "
        "modifiedDateTime principalId roleDefinitionId scheduleInfo status"
    ),
    "unifiedRoleEligibilitySchedule": (
        "appScopeId createdDateTime createdUsing directoryScopeId id memberType "
        "modifiedDateTime principalId roleDefinitionId scheduleInfo status"
    ),
    "unifiedRoleAssignmentScheduleInstance": (
        "appScopeId assignmentType directoryScopeId endDateTime id memberType principalId "
        "roleAssignmentOriginId roleAssignmentScheduleId roleDefinitionId startDateTime"
    ),
    "unifiedRoleEligibilityScheduleInstance": (
        "appScopeId directoryScopeId endDateTime id memberType principalId roleDefinitionId "
        "roleEligibilityScheduleId startDateTime"
    ),
    "agreement": (
        "displayName id isPerDeviceAcceptanceRequired isViewingBeforeAcceptanceRequired "
        "termsExpiration userReacceptRequiredFrequency"
    ),
    "device": (
        "accountEnabled alternativeSecurityIds approximateLastSignInDateTime "
        "complianceExpirationDateTime deletedDateTime deviceCategory deviceId deviceMetadata "
        "deviceOwnership deviceVersion displayName enrollmentProfileName enrollmentType id "
        "isCompliant isManaged isManagementRestricted isRooted managementType manufacturer "
        "mdmAppId model onPremisesLastSyncDateTime onPremisesSecurityIdentifier "
        "onPremisesSyncEnabled operatingSystem operatingSystemVersion physicalIds profileType "
        "registrationDateTime systemLabels trustType"
    ),
    "directoryRole": ("deletedDateTime description displayName id roleTemplateId"),
    "conditionalAccessPolicy": (
        "conditions createdDateTime deletedDateTime description displayName grantControls id "
        "modifiedDateTime sessionControls state templateId"
    ),
    "namedLocation": ("createdDateTime deletedDateTime displayName id modifiedDateTime"),
    "authorizationPolicy": (
        "allowEmailVerifiedUsersToJoinOrganization allowInvitesFrom "
        "allowUserConsentForRiskyApps allowedToSignUpEmailBasedSubscriptions allowedToUseSSPR "
        "blockMsolPowerShell defaultUserRolePermissions deletedDateTime description displayName "
        "guestUserRoleId id"
    ),
    "authenticationFlowsPolicy": ("description displayName id selfServiceSignUp"),
    "identitySecurityDefaultsEnforcementPolicy": (
        "deletedDateTime description displayName id isEnabled"
    ),
    "crossTenantAccessPolicy": ("allowedCloudEndpoints deletedDateTime description displayName id"),
    "crossTenantAccessPolicyConfigurationDefault": (
        "appServiceConnectInbound automaticUserConsentSettings b2bCollaborationInbound "
        "b2bCollaborationOutbound b2bDirectConnectInbound b2bDirectConnectOutbound id "
        "inboundTrust invitationRedemptionIdentityProviderConfiguration isServiceDefault "
        "m365CollaborationInbound m365CollaborationOutbound tenantRestrictions"
    ),
    "crossTenantAccessPolicyConfigurationPartner": (
        "appServiceConnectInbound automaticUserConsentSettings b2bCollaborationInbound "
        "b2bCollaborationOutbound b2bDirectConnectInbound b2bDirectConnectOutbound inboundTrust "
        "isInMultiTenantOrganization isServiceProvider m365CollaborationInbound "
        "m365CollaborationOutbound tenantId tenantRestrictions"
    ),
    "authenticationMethodsPolicy": (
        "description displayName id lastModifiedDateTime policyMigrationState policyVersion "
        "reconfirmationInDays registrationEnforcement"
    ),
    "authenticationMethodConfiguration": ("excludeTargets id state"),
}

GRAPH_PROPERTIES: dict[str, frozenset[str]] = {
    name: frozenset(names.split()) for name, names in _TABLE.items()
}
"""Type name (``user``) -> its property names."""


def selectable(type_name: str, kept: frozenset[str]) -> frozenset[str]:
    """What ``$select`` may name on ``type_name``: what the sandbox keeps and what Graph has."""
    return kept | GRAPH_PROPERTIES.get(type_name, frozenset())
