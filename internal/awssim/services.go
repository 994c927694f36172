package awssim

// services lists every service the simulator speaks. Each lives in its own
// svc_<name>.go file; adding a service is one line here. It returns fresh
// values on every call so no Server shares (or mutates) another's tables.
func services() []*service {
	return []*service{
		stsService(),
		organizationsService(),
		ec2Service(),
		iamService(),
		s3ControlService(),
		s3Service(),
		guardDutyService(),
		accessAnalyzerService(),
		configService(),
		ssmService(),
		cloudTrailService(),
		logsService(),
		kmsService(),
		securityHubService(),
		snsService(),
		cloudWatchService(),
		eventsService(),
		cloudFormationService(),
	}
}
