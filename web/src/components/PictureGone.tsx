/**
 * What the viewer shows for a picture that is gone (404): deleted here or at another node, or
 * never here. It leads back to the gallery and, to whoever may restore it, to the trash.
 */
import type { Picture } from '../api/types';
import { paths } from '../lib/routes';
import { Link } from '../router';
import { EmptyState } from './common';
import { TrashIcon } from './icons';

export function PictureGone({
  picture,
  mayRestore,
  back,
}: {
  /** The picture as it was last shown, if it was. */
  picture: Picture | null;
  mayRestore: boolean;
  back: string;
}) {
  return (
    <EmptyState
      title={picture ? 'This picture was deleted' : 'Picture not available'}
      icon={<TrashIcon />}
    >
      <p className="muted">
        {picture
          ? `“${picture.title}” was deleted, here or at another node.`
          : 'It was deleted, or never existed here.'}
        {mayRestore && ' Until the trash is emptied, it can be restored from there.'}
      </p>
      <div className="actions">
        <Link to={back} className="btn btn-primary">
          Back to the gallery
        </Link>
        {mayRestore && (
          <Link to={paths.trash} className="btn">
            <TrashIcon /> Open the trash
          </Link>
        )}
      </div>
    </EmptyState>
  );
}
