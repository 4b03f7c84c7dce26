/** `/projects/:entity`: the entity's projects, each linking to its artifacts. */
import { Link, useParams } from 'wouter';
import { projects } from '../api';
import {
  Card,
  Empty,
  EntitySwitcher,
  ErrorBanner,
  formatNumber,
  Loading,
  PageHeader,
  TimeAgo,
  useLoad,
} from '../components/ui';
import { paths } from '../routes';
import { useEntities } from '../session';

export default function Projects() {
  const { entity = '' } = useParams<{ entity: string }>();
  const entities = useEntities();
  const list = useLoad(() => projects(entity), [entity]);
  return (
    <>
      <PageHeader
        title={entity}
        subtitle="Projects"
        crumbs={[{ label: 'Projects' }]}
        actions={<EntitySwitcher entities={entities} current={entity} hrefFor={paths.projects} />}
      />
      <ErrorBanner error={list.error} />
      <Card
        title="Projects"
        flush
        actions={<Link href={paths.registry(entity)}>Registry of {entity} →</Link>}
      >
        {list.loading ? (
          <Loading what="projects" />
        ) : !list.data || list.data.length === 0 ? (
          <Empty>No projects in {entity} yet. Log a run or an artifact to start one.</Empty>
        ) : (
          <table className="table" aria-label="Projects">
            <thead>
              <tr>
                <th>Project</th>
                <th className="num">Runs</th>
                <th className="num">Artifacts</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((project) => (
                <tr key={project.name} data-testid="project-row">
                  <td>
                    <Link href={paths.artifacts(project.entity, project.name)} className="strong">
                      {project.name}
                    </Link>
                  </td>
                  <td className="num">
                    <Link href={paths.runs(project.entity, project.name)}>{formatNumber(project.runs)}</Link>
                  </td>
                  <td className="num">{formatNumber(project.artifacts)}</td>
                  <td>
                    <TimeAgo iso={project.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
