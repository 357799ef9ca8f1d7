/** One problem in a compose file: the dotted path of the value (`services.web.deploy.replicas`) and what is wrong. */
export interface StackIssue {
  path: string;
  message: string;
}
