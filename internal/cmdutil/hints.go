package cmdutil

// SecuritySoftwareNote is the advice given when a printer cannot be
// found or reached: security software is the usual cause. what names the
// ports, e.g. "631/tcp (IPP)".
func SecuritySoftwareNote(what string) string {
	return "make sure security software (a firewall, on this computer or on the network) isn't blocking " +
		what + " (its documentation says how to open ports)"
}
